"""HTTP endpoints of accounts: parse, call the service, answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from roadbed_auth.account import service
from roadbed_auth.account.confirmation import confirm_password_or_raise
from roadbed_auth.account.models import User
from roadbed_auth.account.repository import role_names
from roadbed_auth.account.schemas import (
    Accepted,
    AccountDeletion,
    EmailVerification,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    RegistrationCreate,
    UserRead,
)
from roadbed_auth.components import AuthComponents, components, utc_now
from roadbed_auth.context import RequestContext
from roadbed_auth.principal import require_user_token
from roadbed_auth.session.revocation import end_sessions
from roadbed_core.db import unit_of_work
from roadbed_core.tokens.claims import Claims
from roadbed_core.tokens.revocation import arevoke_user_tokens_before

router = APIRouter(prefix="/v1", tags=["accounts"])

Components = Annotated[AuthComponents, Depends(components)]
Authenticated = Annotated[Claims, Depends(require_user_token())]

REGISTRATION_ACCEPTED = (
    "If this address can be registered, a verification link is on its way to it."
)
RESET_ACCEPTED = "If this address has an account, a password reset link is on its way to it."


def user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        email_verified=user.email_verified_at is not None,
        roles=role_names(user),
        mfa_enabled=user.mfa_enabled_at is not None,
        created_at=user.created_at,
    )


@router.post("/accounts", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def register(body: RegistrationCreate, request: Request, auth: Components) -> Accepted:
    """Register an account; a verification link is mailed (the answer is the same for taken addresses)."""
    context = RequestContext.from_request(request)
    await auth.registration_limiter.hit_or_raise(context.ip_address)
    async with unit_of_work(auth.sessions) as db:
        await service.register(
            db,
            email=str(body.email),
            password=body.password,
            display_name=body.display_name,
            hasher=auth.hasher,
            checker=auth.password_policy,
            policy=auth.account_policy,
            context=context,
            now=utc_now(),
        )
    return Accepted(detail=REGISTRATION_ACCEPTED)


@router.post("/accounts/verify-email", status_code=status.HTTP_204_NO_CONTENT)
async def verify_email(body: EmailVerification, request: Request, auth: Components) -> None:
    """Confirm an email address with the single-use token from the verification email."""
    async with unit_of_work(auth.sessions) as db:
        await service.verify_email(
            db, token=body.token, context=RequestContext.from_request(request), now=utc_now()
        )


@router.get("/me", response_model=UserRead)
async def read_me(claims: Authenticated, auth: Components) -> UserRead:
    """The signed-in user's account."""
    async with auth.sessions() as db:
        user = await service.get_or_raise(db, user_id=uuid.UUID(claims.sub))
    return user_read(user)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
async def delete_me(
    body: AccountDeletion, request: Request, claims: Authenticated, auth: Components
) -> None:
    """Delete the signed-in account for good (password required); every token of it stops working."""
    context = RequestContext.from_request(request)
    user_id = uuid.UUID(claims.sub)
    await confirm_password_or_raise(
        auth, user_id=user_id, password=body.password, action="account.delete", context=context
    )
    now = utc_now()
    async with unit_of_work(auth.sessions) as db:
        user = await service.get_or_raise(db, user_id=user_id)
        await service.delete_account(db, user=user, context=context, now=now)
    await arevoke_user_tokens_before(auth.cache, claims.sub, now)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChange, request: Request, claims: Authenticated, auth: Components
) -> None:
    """Change the password (the current one is required); other sessions end unless asked not to."""
    context = RequestContext.from_request(request)
    await confirm_password_or_raise(
        auth,
        user_id=uuid.UUID(claims.sub),
        password=body.current_password,
        action="password.change",
        context=context,
    )
    now = utc_now()
    current_session = claims.raw.get("sid")
    async with unit_of_work(auth.sessions) as db:
        user = await service.get_or_raise(db, user_id=uuid.UUID(claims.sub))
        await service.change_password(
            db,
            user=user,
            new_password=body.new_password,
            hasher=auth.hasher,
            checker=auth.password_policy,
            context=context,
            now=now,
        )
        if body.end_other_sessions:
            await end_sessions(
                db,
                cache=auth.cache,
                user_id=user.id,
                reason="password_changed",
                now=now,
                keep_session_id=uuid.UUID(current_session)
                if isinstance(current_session, str)
                else None,
            )


@router.post("/password-resets", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def request_password_reset(
    body: PasswordResetRequest, request: Request, auth: Components
) -> Accepted:
    """Mail a password reset link (the answer is the same whether or not the address has an account)."""
    context = RequestContext.from_request(request)
    await auth.reset_limiter.hit_or_raise(context.ip_address)
    async with unit_of_work(auth.sessions) as db:
        await service.request_password_reset(
            db, email=str(body.email), policy=auth.account_policy, context=context, now=utc_now()
        )
    return Accepted(detail=RESET_ACCEPTED)


@router.post("/password-resets/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def confirm_password_reset(
    body: PasswordResetConfirm, request: Request, auth: Components
) -> None:
    """Set a new password with the token from the reset email; every session of the account ends."""
    now = utc_now()
    async with unit_of_work(auth.sessions) as db:
        user = await service.reset_password(
            db,
            token=body.token,
            new_password=body.new_password,
            hasher=auth.hasher,
            checker=auth.password_policy,
            context=RequestContext.from_request(request),
            now=now,
        )
        await end_sessions(db, cache=auth.cache, user_id=user.id, reason="password_reset", now=now)
