"""Admin decisions over accounts. Every change is audited with its actor and announced as an event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.account import repository as accounts
from roadbed_auth.account.events import emit_user_updated
from roadbed_auth.account.models import User, UserRole, UserStatus
from roadbed_auth.account.roles import Role
from roadbed_auth.admin import repository
from roadbed_auth.admin.pagination import decode_cursor, encode_cursor
from roadbed_auth.audit import service as audit
from roadbed_auth.context import RequestContext
from roadbed_auth.session.revocation import end_sessions
from roadbed_core.cache import AsyncCache
from roadbed_core.errors import Conflict, FieldError, NotFound, ValidationFailed


class UnknownRole(ValidationFailed):
    code = "unknown_role"
    title = "Unknown role"


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "User not found"


class SelfLockout(Conflict):
    code = "self_lockout"
    title = "Administrators cannot remove their own access"


@dataclass(frozen=True, slots=True)
class UserPage:
    users: list[User]
    next_cursor: str | None


def _role(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        known = ", ".join(role.value for role in Role)
        raise UnknownRole(
            errors=[FieldError(field="role", message=f"Known roles: {known}.")]
        ) from None


async def list_users(
    db: AsyncSession, *, query: str | None, cursor: str | None, limit: int
) -> UserPage:
    rows = list(
        await repository.search_users(
            db, query=query, after=decode_cursor(cursor) if cursor else None, limit=limit
        )
    )
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if page else None
    return UserPage(
        users=page, next_cursor=encode_cursor(last.created_at, last.id) if more and last else None
    )


async def get_or_raise(db: AsyncSession, *, user_id: uuid.UUID) -> User:
    user = await accounts.get_user(db, user_id)
    if user is None:
        raise UserNotFound()
    return user


async def grant_role(
    db: AsyncSession,
    *,
    actor_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
    context: RequestContext,
    now: datetime,
) -> User:
    """Grant ``role`` (idempotent: granting a held role changes nothing and records nothing)."""
    granted = _role(role)
    user = await get_or_raise(db, user_id=user_id)
    if granted.value in accounts.role_names(user):
        return user
    try:
        async with db.begin_nested():  # a concurrent grant of the same role wins
            db.add(UserRole(user_id=user.id, role=granted.value, granted_at=now))
            await db.flush()
    except IntegrityError:
        return await get_or_raise(db, user_id=user_id)
    await audit.record(
        db,
        action="role.granted",
        context=context,
        now=now,
        actor_id=actor_id,
        subject_id=user.id,
        details={"role": granted.value},
    )
    await db.refresh(user, attribute_names=["roles"])
    await emit_user_updated(db, user)
    return user


async def revoke_role(
    db: AsyncSession,
    *,
    actor_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
    context: RequestContext,
    now: datetime,
) -> tuple[User, bool]:
    """Remove ``role``; returns the user and whether anything changed (the caller then revokes tokens)."""
    revoked = _role(role)
    if revoked is Role.ADMIN and actor_id == user_id:
        raise SelfLockout("Ask another administrator to remove your admin role.")
    user = await get_or_raise(db, user_id=user_id)
    if not await repository.remove_role(db, user_id=user.id, role=revoked.value):
        return user, False
    await audit.record(
        db,
        action="role.revoked",
        context=context,
        now=now,
        actor_id=actor_id,
        subject_id=user.id,
        details={"role": revoked.value},
    )
    await db.refresh(user, attribute_names=["roles"])
    await emit_user_updated(db, user)
    return user, True


async def set_status(
    db: AsyncSession,
    *,
    actor_id: uuid.UUID,
    user_id: uuid.UUID,
    status: UserStatus,
    context: RequestContext,
    now: datetime,
) -> tuple[User, bool]:
    """Disable or enable an account; returns the user and whether the status changed."""
    if status is UserStatus.DISABLED and actor_id == user_id:
        raise SelfLockout("Ask another administrator to disable your account.")
    user = await get_or_raise(db, user_id=user_id)
    if user.status == status:
        return user, False
    user.status = status
    user.updated_at = now
    action = "account.disabled" if status is UserStatus.DISABLED else "account.enabled"
    await audit.record(
        db, action=action, context=context, now=now, actor_id=actor_id, subject_id=user.id
    )
    await emit_user_updated(db, user)
    return user, True


async def force_logout(
    db: AsyncSession,
    *,
    actor_id: uuid.UUID,
    user_id: uuid.UUID,
    cache: AsyncCache,
    context: RequestContext,
    now: datetime,
) -> int:
    """End every session and access token of the account; returns how many sessions ended."""
    user = await get_or_raise(db, user_id=user_id)
    ended = await end_sessions(db, cache=cache, user_id=user.id, reason="forced_logout", now=now)
    await audit.record(
        db,
        action="sessions.force_logout",
        context=context,
        now=now,
        actor_id=actor_id,
        subject_id=user.id,
        details={"sessions": ended},
    )
    return ended
