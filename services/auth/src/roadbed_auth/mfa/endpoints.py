"""Second-factor endpoints: enrol, confirm, regenerate recovery codes, turn off."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from roadbed_auth.account import service as accounts
from roadbed_auth.account.confirmation import confirm_password_or_raise
from roadbed_auth.components import AuthComponents, components, utc_now
from roadbed_auth.context import RequestContext
from roadbed_auth.mfa import service
from roadbed_auth.mfa.schemas import (
    PasswordConfirmation,
    RecoveryCodesRead,
    TotpConfirmation,
    TotpEnrollmentRead,
)
from roadbed_auth.principal import require_user_token
from roadbed_core.db import unit_of_work
from roadbed_core.tokens.claims import Claims

router = APIRouter(prefix="/v1/me/mfa", tags=["mfa"])

Components = Annotated[AuthComponents, Depends(components)]
Authenticated = Annotated[Claims, Depends(require_user_token())]


async def _confirm(
    auth: AuthComponents,
    claims: Claims,
    body: PasswordConfirmation,
    request: Request,
    *,
    action: str,
) -> None:
    await confirm_password_or_raise(
        auth,
        user_id=uuid.UUID(claims.sub),
        password=body.password,
        action=action,
        context=RequestContext.from_request(request),
    )


@router.post("/totp", status_code=status.HTTP_201_CREATED, response_model=TotpEnrollmentRead)
async def start_totp(
    body: PasswordConfirmation, request: Request, claims: Authenticated, auth: Components
) -> TotpEnrollmentRead:
    """Start TOTP enrolment (password required): add the secret to an authenticator app, then confirm."""
    await _confirm(auth, claims, body, request, action="mfa.enrol")
    async with unit_of_work(auth.sessions) as db:
        user = await accounts.get_or_raise(db, user_id=uuid.UUID(claims.sub))
        enrollment = await service.start_enrollment(
            db,
            user=user,
            keys=auth.mfa_keys,
            now=utc_now(),
        )
    return TotpEnrollmentRead(secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri)


@router.post("/totp/confirm", response_model=RecoveryCodesRead)
async def confirm_totp(
    body: TotpConfirmation, request: Request, claims: Authenticated, auth: Components
) -> RecoveryCodesRead:
    """Turn two-factor authentication on with a first code; answers the recovery codes, once."""
    async with unit_of_work(auth.sessions) as db:
        user = await accounts.get_or_raise(db, user_id=uuid.UUID(claims.sub))
        codes = await service.confirm_enrollment(
            db,
            user=user,
            code=body.code,
            keys=auth.mfa_keys,
            guard=auth.totp_guard,
            context=RequestContext.from_request(request),
            now=utc_now(),
        )
    return RecoveryCodesRead(recovery_codes=codes)


@router.post("/recovery-codes", response_model=RecoveryCodesRead)
async def regenerate_codes(
    body: PasswordConfirmation, request: Request, claims: Authenticated, auth: Components
) -> RecoveryCodesRead:
    """Replace every recovery code (password required); the old ones stop working."""
    await _confirm(auth, claims, body, request, action="mfa.recovery_codes")
    async with unit_of_work(auth.sessions) as db:
        user = await accounts.get_or_raise(db, user_id=uuid.UUID(claims.sub))
        codes = await service.regenerate_recovery_codes(
            db,
            user=user,
            context=RequestContext.from_request(request),
            now=utc_now(),
        )
    return RecoveryCodesRead(recovery_codes=codes)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def turn_off(
    body: PasswordConfirmation, request: Request, claims: Authenticated, auth: Components
) -> None:
    """Turn two-factor authentication off (password required)."""
    await _confirm(auth, claims, body, request, action="mfa.disable")
    async with unit_of_work(auth.sessions) as db:
        user = await accounts.get_or_raise(db, user_id=uuid.UUID(claims.sub))
        await service.disable(
            db,
            user=user,
            context=RequestContext.from_request(request),
            now=utc_now(),
        )
