"""Admin endpoints: staff read accounts; administrators change roles and status."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from roadbed_auth.account.endpoints import user_read
from roadbed_auth.account.models import User, UserStatus
from roadbed_auth.account.roles import Role
from roadbed_auth.admin import service
from roadbed_auth.admin.schemas import AdminUserRead, UserPageRead
from roadbed_auth.components import AuthComponents, components, utc_now
from roadbed_auth.context import RequestContext
from roadbed_auth.session.revocation import end_sessions
from roadbed_core.db import unit_of_work
from roadbed_core.tokens.claims import Claims
from roadbed_core.tokens.fastapi import require_token
from roadbed_core.tokens.revocation import arevoke_user_tokens_before

router = APIRouter(prefix="/v1/admin/users", tags=["admin"])

Components = Annotated[AuthComponents, Depends(components)]
Reader = Annotated[Claims, Depends(require_token(roles=(Role.ADMIN, Role.STAFF)))]
Administrator = Annotated[Claims, Depends(require_token(roles=(Role.ADMIN,)))]
RoleName = Annotated[str, Query(max_length=32)]


def admin_read(user: User) -> AdminUserRead:
    return AdminUserRead(**user_read(user).model_dump(), status=user.status)


@router.get("", response_model=UserPageRead)
async def list_users(
    _: Reader,
    auth: Components,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Part of an email or name.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> UserPageRead:
    """Search accounts, newest first, a cursor page at a time (staff and administrators)."""
    async with auth.sessions() as db:
        page = await service.list_users(db, query=q, cursor=cursor, limit=limit)
    return UserPageRead(
        items=[admin_read(user) for user in page.users], next_cursor=page.next_cursor
    )


@router.get("/{user_id}", response_model=AdminUserRead)
async def get_user(user_id: uuid.UUID, _: Reader, auth: Components) -> AdminUserRead:
    """One account, whatever its status (staff and administrators)."""
    async with auth.sessions() as db:
        return admin_read(await service.get_or_raise(db, user_id=user_id))


@router.put("/{user_id}/roles/{role}", response_model=AdminUserRead)
async def grant_role(
    user_id: uuid.UUID, role: str, request: Request, admin: Administrator, auth: Components
) -> AdminUserRead:
    """Grant a role (idempotent). It is in the user's next access token."""
    async with unit_of_work(auth.sessions) as db:
        user = await service.grant_role(
            db,
            actor_id=uuid.UUID(admin.sub),
            user_id=user_id,
            role=role[:32],
            context=RequestContext.from_request(request),
            now=utc_now(),
        )
        return admin_read(user)


@router.delete("/{user_id}/roles/{role}", response_model=AdminUserRead)
async def revoke_role(
    user_id: uuid.UUID, role: str, request: Request, admin: Administrator, auth: Components
) -> AdminUserRead:
    """Remove a role. Access tokens that carry it stop working at once; sessions refresh without it."""
    now = utc_now()
    async with unit_of_work(auth.sessions) as db:
        user, changed = await service.revoke_role(
            db,
            actor_id=uuid.UUID(admin.sub),
            user_id=user_id,
            role=role[:32],
            context=RequestContext.from_request(request),
            now=now,
        )
        if changed:
            await arevoke_user_tokens_before(auth.cache, str(user.id), now)
        return admin_read(user)


@router.post("/{user_id}/disable", response_model=AdminUserRead)
async def disable_user(
    user_id: uuid.UUID, request: Request, admin: Administrator, auth: Components
) -> AdminUserRead:
    """Disable an account: it cannot sign in, and every session and token of it ends now."""
    now = utc_now()
    async with unit_of_work(auth.sessions) as db:
        user, _changed = await service.set_status(
            db,
            actor_id=uuid.UUID(admin.sub),
            user_id=user_id,
            status=UserStatus.DISABLED,
            context=RequestContext.from_request(request),
            now=now,
        )
        await end_sessions(
            db, cache=auth.cache, user_id=user.id, reason="account_disabled", now=now
        )
        return admin_read(user)


@router.post("/{user_id}/enable", response_model=AdminUserRead)
async def enable_user(
    user_id: uuid.UUID, request: Request, admin: Administrator, auth: Components
) -> AdminUserRead:
    """Enable a disabled account again (it signs in afresh; nothing is restored)."""
    async with unit_of_work(auth.sessions) as db:
        user, _changed = await service.set_status(
            db,
            actor_id=uuid.UUID(admin.sub),
            user_id=user_id,
            status=UserStatus.ACTIVE,
            context=RequestContext.from_request(request),
            now=utc_now(),
        )
        return admin_read(user)


@router.post("/{user_id}/logout", status_code=status.HTTP_204_NO_CONTENT)
async def force_logout(
    user_id: uuid.UUID, request: Request, admin: Administrator, auth: Components
) -> None:
    """End every session and access token of an account."""
    async with unit_of_work(auth.sessions) as db:
        await service.force_logout(
            db,
            actor_id=uuid.UUID(admin.sub),
            user_id=user_id,
            cache=auth.cache,
            context=RequestContext.from_request(request),
            now=utc_now(),
        )
