"""HTTP endpoints of sessions: login, refresh, logout, list and end sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.account import service as accounts
from roadbed_auth.account.errors import InvalidCredentials
from roadbed_auth.account.repository import role_names
from roadbed_auth.components import AuthComponents, components, utc_now
from roadbed_auth.context import RequestContext
from roadbed_auth.lockouts import count_failure
from roadbed_auth.mfa import service as mfa
from roadbed_auth.mfa.schemas import MfaCompletion
from roadbed_auth.principal import require_user_token
from roadbed_auth.session import service
from roadbed_auth.session.models import LoginSession
from roadbed_auth.session.revocation import end_sessions, revoke_access_token
from roadbed_auth.session.schemas import LoginCreate, RefreshCreate, SessionRead, TokenRead
from roadbed_auth.session.service import RefreshTokenReused
from roadbed_core.db import unit_of_work
from roadbed_core.tokens.claims import Claims

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

Components = Annotated[AuthComponents, Depends(components)]
Authenticated = Annotated[Claims, Depends(require_user_token())]


async def _token_response(
    auth: AuthComponents,
    *,
    session: LoginSession,
    refresh_token: str,
    roles: list[str],
    auth_time: datetime,
) -> TokenRead:
    minted = await auth.minter.mint(
        subject=str(session.user_id),
        client_id=session.client_id,
        scope=session.scope,
        roles=roles,
        session_id=str(session.id),
        auth_time=auth_time,
    )
    return TokenRead(
        access_token=minted.token,
        expires_in=minted.expires_in,
        refresh_token=refresh_token,
        session_id=session.id,
    )


def _session_id(claims: Claims) -> uuid.UUID | None:
    sid = claims.raw.get("sid")
    try:
        return uuid.UUID(sid) if isinstance(sid, str) else None
    except ValueError:
        return None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenRead,
    responses={
        401: {
            "description": "Wrong credentials, or (``code: mfa_required``) the password was right and "
            "the second factor is due: complete with ``POST /v1/sessions/mfa`` and the ``mfa_token``.",
            "content": {
                "application/problem+json": {
                    "example": {
                        "type": "urn:roadbed:problem:mfa_required",
                        "title": "A second factor is required",
                        "status": 401,
                        "code": "mfa_required",
                        "mfa_token": "…",
                        "methods": ["totp", "recovery_code"],
                    }
                }
            },
        }
    },
)
async def login(body: LoginCreate, request: Request, auth: Components) -> TokenRead:
    """Sign in with email and password: an access token and a rotating refresh token.

    Unknown address and wrong password get the same 401 after the same work; repeated failures
    get 429 with ``Retry-After``. With two-factor authentication on, a 401 ``mfa_required``
    carries the token for the second step.
    """
    context = RequestContext.from_request(request)
    email = str(body.email)
    await auth.login_throttle.check(ip=context.ip_address, account_key=email)
    async with auth.sessions() as db:  # a short read; the hash below holds no connection
        account = await accounts.find_for_login(db, email=email)
    check = await accounts.check_password(user=account, password=body.password, hasher=auth.hasher)
    now = utc_now()
    async with unit_of_work(auth.sessions) as db:
        user = await accounts.record_authentication(db, check=check, context=context, now=now)
        issued = None
        if user is not None and user.mfa_enabled_at is None:
            issued = await _open_session(
                db, auth, user_id=user.id, amr="pwd", context=context, now=now
            )
            roles = role_names(user)
    # The failed attempt's audit entry is committed above; only now is the failure answered.
    if user is None:
        await count_failure(
            auth,
            auth.login_throttle,
            account_key=email,
            subject_id=account.id if account is not None else None,
            context=context,
        )
        raise InvalidCredentials()
    await auth.login_throttle.record_success(ip=context.ip_address, account_key=email)
    if issued is None:
        token = await mfa.open_challenge(auth.cache, user_id=user.id)
        raise mfa.MfaRequired(extra={"mfa_token": token, "methods": ["totp", "recovery_code"]})
    return await _token_response(
        auth, session=issued.session, refresh_token=issued.refresh_token, roles=roles, auth_time=now
    )


@router.post("/mfa", status_code=status.HTTP_201_CREATED, response_model=TokenRead)
async def complete_login(body: MfaCompletion, request: Request, auth: Components) -> TokenRead:
    """Second sign-in step: a TOTP code (each works once) or a recovery code (each works once)."""
    context = RequestContext.from_request(request)
    user_id = await mfa.read_challenge(auth.cache, body.mfa_token)
    await auth.mfa_throttle.check(ip=context.ip_address, account_key=str(user_id))
    now = utc_now()
    try:
        async with unit_of_work(auth.sessions) as db:
            user = await accounts.get_or_raise(db, user_id=user_id)
            method = await mfa.verify_second_factor(
                db,
                user=user,
                code=body.code,
                recovery_code=body.recovery_code,
                keys=auth.mfa_keys,
                guard=auth.totp_guard,
                context=context,
                now=now,
            )
            await mfa.close_challenge(auth.cache, body.mfa_token)
            issued = await _open_session(
                db, auth, user_id=user.id, amr=f"pwd {method} mfa", context=context, now=now
            )
            roles = role_names(user)
    except mfa.InvalidMfaCode:
        async with unit_of_work(auth.sessions) as db:
            await mfa.record_failed_verification(db, user_id=user_id, context=context, now=now)
        await count_failure(
            auth, auth.mfa_throttle, account_key=str(user_id), subject_id=user_id, context=context
        )
        raise
    await auth.mfa_throttle.record_success(ip=context.ip_address, account_key=str(user_id))
    return await _token_response(
        auth, session=issued.session, refresh_token=issued.refresh_token, roles=roles, auth_time=now
    )


async def _open_session(
    db: AsyncSession,
    auth: AuthComponents,
    *,
    user_id: uuid.UUID,
    amr: str,
    context: RequestContext,
    now: datetime,
) -> service.IssuedRefresh:
    return await service.create(
        db,
        user_id=user_id,
        client_id=auth.settings.first_party_client_id,
        scope="",
        amr=amr,
        user_agent=context.user_agent,
        ip_address=context.ip_address,
        now=now,
        policy=auth.session_policy,
    )


@router.post("/refresh", response_model=TokenRead)
async def refresh(body: RefreshCreate, auth: Components) -> TokenRead:
    """Exchange a refresh token for a new pair; a reused token ends its whole session."""
    now = utc_now()
    try:
        async with unit_of_work(auth.sessions) as db:
            issued = await service.rotate(
                db, presented=body.refresh_token, now=now, policy=auth.session_policy
            )
            service.require_client(issued.session, client_id=auth.settings.first_party_client_id)
            roles = role_names(await service.active_owner(db, session=issued.session))
    except RefreshTokenReused as reused:
        async with unit_of_work(auth.sessions) as db:
            await service.revoke_family(db, reused=reused, now=now)
        raise
    return await _token_response(
        auth,
        session=issued.session,
        refresh_token=issued.refresh_token,
        roles=roles,
        auth_time=issued.session.auth_time,
    )


@router.get("", response_model=list[SessionRead])
async def list_sessions(claims: Authenticated, auth: Components) -> list[SessionRead]:
    """The signed-in user's active sessions (device, created, last used)."""
    current = _session_id(claims)
    async with auth.sessions() as db:
        sessions = await service.list_active(db, user_id=uuid.UUID(claims.sub), now=utc_now())
    return [
        SessionRead(
            id=s.id,
            client_id=s.client_id,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            expires_at=s.expires_at,
            user_agent=s.user_agent,
            ip_address=s.ip_address,
            current=s.id == current,
        )
        for s in sessions
    ]


@router.delete("/current", status_code=status.HTTP_204_NO_CONTENT)
async def logout(claims: Authenticated, auth: Components) -> None:
    """Sign out here: this session's refresh tokens and this access token stop working."""
    session_id = _session_id(claims)
    now = utc_now()
    if session_id is not None:
        async with unit_of_work(auth.sessions) as db:
            await service.revoke_all_matching(
                db, user_id=uuid.UUID(claims.sub), session_id=session_id, reason="logout", now=now
            )
    await revoke_access_token(auth.cache, jti=claims.jti, expires_at=claims.exp)


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def end_session(session_id: uuid.UUID, claims: Authenticated, auth: Components) -> None:
    """End one of the signed-in user's sessions (another user's answers 404)."""
    async with unit_of_work(auth.sessions) as db:
        await service.revoke(
            db,
            user_id=uuid.UUID(claims.sub),
            session_id=session_id,
            reason="ended_by_user",
            now=utc_now(),
        )


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def logout_everywhere(claims: Authenticated, auth: Components) -> None:
    """Sign out everywhere: every session and every access token of the user."""
    async with unit_of_work(auth.sessions) as db:
        await end_sessions(
            db,
            cache=auth.cache,
            user_id=uuid.UUID(claims.sub),
            reason="logout_everywhere",
            now=utc_now(),
        )
