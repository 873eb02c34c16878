"""Revocation (RFC 7009), introspection (RFC 7662) and userinfo (OIDC Core §5.3).

Revocation answers the same whatever the token was — unknown, expired, another client's — so a
caller learns nothing from it (RFC 7009 §2.2); only a token issued to the calling client is
revoked. A refresh token ends its whole login session; an access token goes on the ``jti``
denylist every verifier consults.

Introspection says ``{"active": false}`` and nothing else for any token that is not live
(RFC 7662 §2.2). Access tokens may be introspected by any confidential client (resource
servers); a refresh token only by the client it was issued to.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.account.models import UserStatus
from roadbed_auth.account.repository import get_user
from roadbed_auth.oauth.grants import user_claims
from roadbed_auth.oauth.inspection import active_access_token, looks_like_jwt
from roadbed_auth.oauth.models import OAuthClient
from roadbed_auth.session import repository as session_repository
from roadbed_auth.session import service as sessions
from roadbed_auth.session.models import LoginSession, RefreshToken
from roadbed_auth.session.secrets import MAX_TOKEN_LENGTH, token_digest
from roadbed_core.cache import AsyncCache
from roadbed_core.tokens.claims import Claims
from roadbed_core.tokens.errors import InvalidToken
from roadbed_core.tokens.jwks import JwksClient
from roadbed_core.tokens.revocation import RevocationList, arevoke_token

ACCESS_TOKEN_HINT: Final = "access_token"  # noqa: S105 - a token type hint name, not a secret
REFRESH_TOKEN_HINT: Final = "refresh_token"  # noqa: S105 - a token type hint name, not a secret
INACTIVE: Final = {"active": False}


@dataclass(frozen=True, slots=True)
class TokenReader:
    """How to recognise our tokens: our JWKS, issuer and revocation list."""

    jwks: JwksClient
    issuer: str
    revocation: RevocationList
    cache: AsyncCache


async def _live_refresh_token(
    db: AsyncSession, token: str, *, now: datetime
) -> tuple[RefreshToken, LoginSession] | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    found = await session_repository.get_token_by_digest(db, token_digest(token))
    if found is None:
        return None
    session = await session_repository.get_session(db, found.session_id)
    if session is None or session.revoked_at is not None or session.expires_at <= now:
        return None
    return found, session


def _refresh_first(token: str, hint: str | None) -> bool:
    if hint == ACCESS_TOKEN_HINT:
        return False
    if hint == REFRESH_TOKEN_HINT:
        return True
    return not looks_like_jwt(token)


async def revoke(
    db: AsyncSession,
    *,
    client: OAuthClient,
    token: str,
    hint: str | None,
    reader: TokenReader,
    now: datetime,
) -> None:
    """Revoke ``token`` if it is live and was issued to ``client``; otherwise do nothing."""
    # The hint only orders the search (RFC 7009 §2.1): a wrong hint still finds the token.
    if _refresh_first(token, hint):
        if await _revoke_refresh_token(db, client=client, token=token, now=now):
            return
        await _revoke_access_token(client=client, token=token, reader=reader)
        return
    if await _revoke_access_token(client=client, token=token, reader=reader):
        return
    await _revoke_refresh_token(db, client=client, token=token, now=now)


async def _revoke_refresh_token(
    db: AsyncSession, *, client: OAuthClient, token: str, now: datetime
) -> bool:
    found = await _live_refresh_token(db, token, now=now)
    if found is None:
        return False
    _token, session = found
    if session.client_id == client.client_id:
        await sessions.revoke_all_matching(
            db, user_id=session.user_id, session_id=session.id, reason="revoked", now=now
        )
    return True


async def _revoke_access_token(*, client: OAuthClient, token: str, reader: TokenReader) -> bool:
    claims = await _access_claims(token, reader)
    if claims is None:
        return False
    if claims.client_id == client.client_id:
        await arevoke_token(reader.cache, claims.jti, claims.exp)
    return True


async def _access_claims(token: str, reader: TokenReader) -> Claims | None:
    if not looks_like_jwt(token):
        return None
    return await active_access_token(
        reader.jwks, token, issuer=reader.issuer, revocation=reader.revocation
    )


async def introspect(
    db: AsyncSession,
    *,
    client: OAuthClient,
    token: str,
    hint: str | None,
    reader: TokenReader,
    now: datetime,
) -> dict[str, Any]:
    """RFC 7662 §2.2: the token's metadata if it is active, else ``{"active": false}``."""
    if _refresh_first(token, hint):
        answer = await _introspect_refresh_token(
            db, client=client, token=token, reader=reader, now=now
        )
        return answer or await _introspect_access_token(token, reader) or dict(INACTIVE)
    answer = await _introspect_access_token(token, reader)
    if answer is None:
        answer = await _introspect_refresh_token(
            db, client=client, token=token, reader=reader, now=now
        )
    return answer or dict(INACTIVE)


async def _introspect_access_token(token: str, reader: TokenReader) -> dict[str, Any] | None:
    claims = await _access_claims(token, reader)
    if claims is None:
        return None
    answer: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer",
        "client_id": claims.client_id,
        "sub": claims.sub,
        "aud": list(claims.aud),
        "iss": claims.iss,
        "exp": int(claims.exp.timestamp()),
        "iat": int(claims.iat.timestamp()),
        "jti": claims.jti,
    }
    if claims.scope:
        answer["scope"] = claims.raw.get("scope", " ".join(sorted(claims.scope)))
    if claims.roles:
        answer["roles"] = sorted(claims.roles)
    return answer


async def _introspect_refresh_token(
    db: AsyncSession, *, client: OAuthClient, token: str, reader: TokenReader, now: datetime
) -> dict[str, Any] | None:
    found = await _live_refresh_token(db, token, now=now)
    if found is None:
        return None
    refresh_token, session = found
    if refresh_token.rotated_at is not None or session.client_id != client.client_id:
        return None
    answer: dict[str, Any] = {
        "active": True,
        "token_type": "refresh_token",
        "client_id": session.client_id,
        "sub": str(session.user_id),
        "iss": reader.issuer,
        "exp": int(session.expires_at.timestamp()),
        "iat": int(refresh_token.created_at.timestamp()),
    }
    if session.scope:
        answer["scope"] = session.scope
    return answer


async def userinfo(db: AsyncSession, *, claims: Claims) -> dict[str, Any]:
    """The signed-in user's claims the access token's scopes release (``openid`` required)."""
    try:
        user_id = uuid.UUID(claims.sub)
    except ValueError:
        raise InvalidToken("bad_claims") from None  # a client's own token: no user behind it
    user = await get_user(db, user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise InvalidToken("revoked")
    return {"sub": str(user.id), **user_claims(user, sorted(claims.scope))}
