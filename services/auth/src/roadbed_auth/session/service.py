"""Login sessions and refresh-token rotation — the only place these decisions are made.

Rules (RFC 9700 §4.14, OAuth 2.0 Security BCP):
- every use of a refresh token spends it and yields a child in the same family (the session);
- a spent token presented again within ``refresh_reuse_grace_seconds`` yields the same child
  (two tabs refreshing at once); later, it is reuse of a stolen token: the whole family dies;
- the family has an absolute lifetime that rotation never extends.
Functions only flush; the caller's unit of work commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.account.models import User, UserStatus
from roadbed_auth.account.repository import get_user
from roadbed_auth.session import repository
from roadbed_auth.session.errors import InvalidRefreshToken, SessionNotFound
from roadbed_auth.session.models import LoginSession, RefreshToken
from roadbed_auth.session.secrets import (
    MAX_TOKEN_LENGTH,
    child_refresh_token,
    new_refresh_token,
    token_digest,
)

REUSE_REASON = "refresh_token_reuse"


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    lifetime: timedelta
    reuse_grace: timedelta
    child_secret: bytes


@dataclass(frozen=True, slots=True)
class IssuedRefresh:
    session: LoginSession
    refresh_token: str


async def create(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    client_id: str,
    scope: str,
    amr: str,
    user_agent: str,
    ip_address: str,
    now: datetime,
    policy: SessionPolicy,
) -> IssuedRefresh:
    """Open a session and its first refresh token."""
    session = LoginSession(
        id=uuid.uuid4(),
        user_id=user_id,
        client_id=client_id,
        scope=scope,
        amr=amr,
        auth_time=now,
        created_at=now,
        last_used_at=now,
        expires_at=now + policy.lifetime,
        user_agent=user_agent[:512],
        ip_address=ip_address[:64],
    )
    db.add(session)
    token = new_refresh_token()
    db.add(RefreshToken(session_id=session.id, token_hash=token_digest(token), created_at=now))
    await db.flush()
    return IssuedRefresh(session=session, refresh_token=token)


async def rotate(
    db: AsyncSession, *, presented: str, now: datetime, policy: SessionPolicy
) -> IssuedRefresh:
    """Exchange a refresh token for its child. Reuse past the grace window revokes the family.

    Reuse raises :class:`RefreshTokenReused` without writing anything: the caller rolls this
    unit of work back and revokes the family in one of its own (:func:`revoke_family`), so the
    revocation commits although the request fails.
    """
    if not presented or len(presented) > MAX_TOKEN_LENGTH:
        raise InvalidRefreshToken("refresh token is malformed")
    token = await repository.get_token_by_digest(db, token_digest(presented))
    if token is None:
        raise InvalidRefreshToken("refresh token is not recognised")
    session = await repository.get_session(db, token.session_id)
    if session is None or session.revoked_at is not None or session.expires_at <= now:
        raise InvalidRefreshToken("the session of this refresh token has ended")

    child = child_refresh_token(presented, secret=policy.child_secret)
    if token.rotated_at is None and await repository.claim_rotation(db, token.id, now):
        db.add(RefreshToken(session_id=session.id, token_hash=token_digest(child), created_at=now))
    else:
        # Spent already (or just now by a concurrent request, which holds the child).
        await db.refresh(token)
        spent_at = token.rotated_at
        if spent_at is None or now - spent_at > policy.reuse_grace:
            raise RefreshTokenReused(session_id=session.id, user_id=session.user_id)
        if await repository.get_token_by_digest(db, token_digest(child)) is None:
            raise InvalidRefreshToken("refresh token was already exchanged")
    session.last_used_at = now
    await db.flush()
    return IssuedRefresh(session=session, refresh_token=child)


class RefreshTokenReused(InvalidRefreshToken):
    """A spent refresh token came back after the grace window: its family is now revoked."""

    def __init__(self, *, session_id: uuid.UUID, user_id: uuid.UUID) -> None:
        super().__init__("refresh token was reused; the session has been revoked")
        self.session_id = session_id
        self.user_id = user_id


def require_client(session: LoginSession, *, client_id: str) -> None:
    """A refresh token works only for the client it was issued to: an OAuth client's token must
    come back through the token endpoint with that client's authentication, never through the
    first-party refresh (which authenticates no client). Raise inside the unit of work, so the
    rotation rolls back and the token stays as it was."""
    if session.client_id != client_id:
        raise InvalidRefreshToken("refresh token is not recognised")


async def active_owner(db: AsyncSession, *, session: LoginSession) -> User:
    """The account a refreshed session belongs to; a disabled or deleted one ends the grant."""
    user = await get_user(db, session.user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise InvalidRefreshToken("the account of this session is not active")
    return user


async def revoke_family(db: AsyncSession, *, reused: RefreshTokenReused, now: datetime) -> None:
    """Revoke the session whose spent refresh token came back (RFC 9700 §4.14.2)."""
    await repository.revoke_sessions(
        db, user_id=reused.user_id, session_id=reused.session_id, reason=REUSE_REASON, now=now
    )


async def list_active(
    db: AsyncSession, *, user_id: uuid.UUID, now: datetime
) -> Sequence[LoginSession]:
    return await repository.list_active_sessions(db, user_id=user_id, now=now)


async def revoke(
    db: AsyncSession, *, user_id: uuid.UUID, session_id: uuid.UUID, reason: str, now: datetime
) -> None:
    """Revoke one of the user's own sessions; another user's session is indistinguishable from none."""
    revoked = await repository.revoke_sessions(
        db, user_id=user_id, session_id=session_id, reason=reason, now=now
    )
    if revoked == 0:
        raise SessionNotFound()


async def revoke_all_matching(
    db: AsyncSession, *, user_id: uuid.UUID, session_id: uuid.UUID, reason: str, now: datetime
) -> int:
    """Revoke the session if it is the user's and still live (logout is idempotent)."""
    return await repository.revoke_sessions(
        db, user_id=user_id, session_id=session_id, reason=reason, now=now
    )


async def revoke_all(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    reason: str,
    now: datetime,
    keep_session_id: uuid.UUID | None = None,
) -> int:
    return await repository.revoke_sessions(
        db, user_id=user_id, reason=reason, now=now, keep_session_id=keep_session_id
    )
