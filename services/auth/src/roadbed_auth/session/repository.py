"""All SQL of login sessions and refresh tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.session.models import LoginSession, RefreshToken


async def get_token_by_digest(db: AsyncSession, digest: str) -> RefreshToken | None:
    result = await db.execute(select(RefreshToken).where(RefreshToken.token_hash == digest))
    return result.scalar_one_or_none()


async def get_session(db: AsyncSession, session_id: uuid.UUID) -> LoginSession | None:
    return await db.get(LoginSession, session_id)


async def claim_rotation(db: AsyncSession, token_id: uuid.UUID, now: datetime) -> bool:
    """Mark a token spent unless someone already did: the guarded UPDATE is the race arbiter."""
    result = await db.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_sessions(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    reason: str,
    now: datetime,
    session_id: uuid.UUID | None = None,
    keep_session_id: uuid.UUID | None = None,
) -> int:
    """Revoke one session of the user, or all of them (optionally but one). Returns how many."""
    statement = update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None)
    )
    if session_id is not None:
        statement = statement.where(LoginSession.id == session_id)
    if keep_session_id is not None:
        statement = statement.where(LoginSession.id != keep_session_id)
    result = await db.execute(
        statement.values(revoked_at=now, revoked_reason=reason).execution_options(
            synchronize_session=False
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def list_active_sessions(
    db: AsyncSession, *, user_id: uuid.UUID, now: datetime
) -> Sequence[LoginSession]:
    result = await db.execute(
        select(LoginSession)
        .where(
            LoginSession.user_id == user_id,
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
        )
        .order_by(LoginSession.last_used_at.desc(), LoginSession.id)
        .limit(200)
    )
    return result.scalars().all()
