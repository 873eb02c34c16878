"""Ending sessions so that it also ends the access tokens already handed out.

Refresh tokens die with their session row. Access tokens are self-contained JWTs, so ending
sessions also writes a per-user "not before" into the shared cache, which the core verifier of
every service consults (DESIGN.md §4). Keeping one session (a password change "here") cannot be
expressed per user, so in that case the caller's own token survives only through its session.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.session import service
from roadbed_core.cache import AsyncCache
from roadbed_core.tokens.revocation import arevoke_token, arevoke_user_tokens_before


async def end_sessions(
    db: AsyncSession,
    *,
    cache: AsyncCache,
    user_id: uuid.UUID,
    reason: str,
    now: datetime,
    keep_session_id: uuid.UUID | None = None,
) -> int:
    ended = await service.revoke_all(
        db, user_id=user_id, reason=reason, now=now, keep_session_id=keep_session_id
    )
    if keep_session_id is None:
        await arevoke_user_tokens_before(cache, str(user_id), now)
    return ended


async def revoke_access_token(cache: AsyncCache, *, jti: str, expires_at: datetime) -> None:
    await arevoke_token(cache, jti, expires_at)
