"""The token endpoint's grants (RFC 6749 §4.1.3, §4.4, §6; RFC 7636 §4.6; OIDC Core §3.1.3).

- authorization_code: the code is single use; its client, redirect URI and PKCE verifier must
  match what the authorization request bound it to. A second redemption is treated as theft
  (RFC 6749 §4.1.2): the session and access token the first one produced are revoked.
- refresh_token: the login session's rotation with reuse detection
  (:mod:`roadbed_auth.session.service`), bound to the client it was issued to; a narrower scope
  may be asked for, never a wider one.
- client_credentials: a confidential client acting for itself; ``aud`` is its registered
  audience, no refresh token, no user scopes.
Each authorization grant opens one login session (refresh-token family) with the client id and
scope on its row. A refresh token is issued only when ``offline_access`` was granted and the
client may use the refresh grant. Functions only flush; the caller's unit of work commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.account.models import User, UserStatus
from roadbed_auth.account.repository import get_user, role_names
from roadbed_auth.audit import service as audit
from roadbed_auth.components import AccessTokenMinter
from roadbed_auth.context import RequestContext
from roadbed_auth.keys.issuer import AccessTokenIssuer, IdTokenIssuer
from roadbed_auth.oauth import repository
from roadbed_auth.oauth.errors import (
    AuthorizationCodeReused,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
)
from roadbed_auth.oauth.models import GrantType, OAuthClient
from roadbed_auth.oauth.scopes import (
    EMAIL,
    OFFLINE_ACCESS,
    OIDC_SCOPES,
    OPENID,
    PROFILE,
    parse_scope,
)
from roadbed_auth.oauth.secrets import MAX_OPAQUE_LENGTH, digest, pkce_matches
from roadbed_auth.session import service as sessions
from roadbed_auth.session.errors import InvalidRefreshToken
from roadbed_auth.session.models import LoginSession
from roadbed_auth.session.service import RefreshTokenReused, SessionPolicy

CODE_REUSE_REASON = "authorization_code_reuse"


@dataclass(frozen=True, slots=True)
class Minting:
    """What signs the tokens a grant hands out."""

    access_tokens: AccessTokenMinter
    id_tokens: IdTokenIssuer
    service_tokens: AccessTokenIssuer
    session_policy: SessionPolicy


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """RFC 6749 §5.1 (+ OIDC Core §3.1.3.3 ``id_token``)."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.scope:
            body["scope"] = self.scope
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.id_token is not None:
            body["id_token"] = self.id_token
        return body


@dataclass(frozen=True, slots=True)
class RevokedGrant:
    """What a reused code had produced, now revoked (the access token goes on the denylist)."""

    access_token_jti: str | None
    access_token_expires_at: datetime | None


def user_claims(user: User, scopes: Sequence[str]) -> dict[str, Any]:
    """Standard claims (OIDC Core §5.4) the granted scopes release."""
    claims: dict[str, Any] = {}
    if PROFILE in scopes:
        claims["name"] = user.display_name
        claims["updated_at"] = int(user.updated_at.timestamp())
    if EMAIL in scopes:
        claims["email"] = user.email
        claims["email_verified"] = user.email_verified_at is not None
    return claims


def _require_grant(client: OAuthClient, grant: GrantType) -> None:
    if grant not in client.grant_types:
        raise UnauthorizedClient(f"this client may not use the {grant.value} grant")


async def _active_user(db: AsyncSession, user_id: uuid.UUID) -> User:
    user = await get_user(db, user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise InvalidGrant("the account of this grant is not active")
    return user


async def _user_tokens(
    *,
    client: OAuthClient,
    user: User,
    session: LoginSession,
    scopes: Sequence[str],
    nonce: str | None,
    refresh_token: str | None,
    minting: Minting,
) -> tuple[TokenResponse, str, datetime]:
    scope = " ".join(scopes)
    minted = await minting.access_tokens.mint(
        subject=str(user.id),
        client_id=client.client_id,
        scope=scope,
        # A third-party app acts for the user within the scopes granted, never with the user's
        # roles: an administrator approving an app must not hand it administration.
        roles=role_names(user) if client.first_party else [],
        session_id=str(session.id),
        auth_time=session.auth_time,
    )
    id_token = None
    if OPENID in scopes:
        issued = await minting.id_tokens.issue(
            subject=str(user.id),
            client_id=client.client_id,
            auth_time=session.auth_time,
            nonce=nonce,
            access_token=minted.token,
            amr=session.amr.split(),
            extra_claims={
                "sid": str(session.id),
                **user_claims(user, scopes),
            },
        )
        id_token = issued.token
    response = TokenResponse(
        access_token=minted.token,
        expires_in=minted.expires_in,
        scope=scope,
        refresh_token=refresh_token,
        id_token=id_token,
    )
    return response, minted.jti, minted.expires_at


async def exchange_code(
    db: AsyncSession,
    *,
    client: OAuthClient,
    code: str | None,
    redirect_uri: str | None,
    code_verifier: str | None,
    context: RequestContext,
    now: datetime,
    minting: Minting,
) -> TokenResponse:
    """Redeem an authorization code. A second redemption raises :class:`AuthorizationCodeReused`
    without writing: the caller revokes in a unit of work of its own (:func:`revoke_code_grant`).
    """
    _require_grant(client, GrantType.AUTHORIZATION_CODE)
    if not code or not redirect_uri:
        raise InvalidRequest("code and redirect_uri are required")
    if not code_verifier:
        raise InvalidRequest("code_verifier is required (PKCE)")
    if len(code) > MAX_OPAQUE_LENGTH:
        raise InvalidGrant("authorization code is not valid")
    grant = await repository.get_code_by_digest(db, digest(code))
    if grant is None or grant.client_id != client.client_id:
        raise InvalidGrant("authorization code is not valid")
    if grant.redeemed_at is not None:
        raise AuthorizationCodeReused(code_id=grant.id)
    if grant.expires_at <= now:
        raise InvalidGrant("authorization code has expired")
    if grant.redirect_uri != redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request")
    if not pkce_matches(verifier=code_verifier, challenge=grant.code_challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
    if not await repository.claim_code(db, code_id=grant.id, now=now):
        raise AuthorizationCodeReused(code_id=grant.id)

    opened = await open_grant(
        db,
        client=client,
        user_id=grant.user_id,
        scope=grant.scope,
        amr=grant.amr,
        auth_time=grant.auth_time,
        nonce=grant.nonce,
        context=context,
        now=now,
        minting=minting,
    )
    grant.redeemed_at = now
    grant.session_id = opened.session_id
    grant.access_token_jti = opened.access_token_jti
    grant.access_token_expires_at = opened.access_token_expires_at
    await db.flush()
    return opened.response


@dataclass(frozen=True, slots=True)
class OpenedGrant:
    response: TokenResponse
    session_id: uuid.UUID
    access_token_jti: str
    access_token_expires_at: datetime


async def open_grant(
    db: AsyncSession,
    *,
    client: OAuthClient,
    user_id: uuid.UUID,
    scope: str,
    amr: str,
    auth_time: datetime,
    nonce: str | None,
    context: RequestContext,
    now: datetime,
    minting: Minting,
) -> OpenedGrant:
    """Turn a user's authorization (a code, an approved device) into its login session and
    tokens; a refresh token only with ``offline_access`` and the refresh grant."""
    user = await _active_user(db, user_id)
    scopes = scope.split()
    issued = await sessions.create(
        db,
        user_id=user.id,
        client_id=client.client_id,
        scope=scope,
        amr=amr,
        user_agent=context.user_agent,
        ip_address=context.ip_address,
        now=now,
        policy=minting.session_policy,
    )
    issued.session.auth_time = auth_time  # when the user signed in, not when redeemed
    offline = OFFLINE_ACCESS in scopes and GrantType.REFRESH_TOKEN in client.grant_types
    response, jti, expires_at = await _user_tokens(
        client=client,
        user=user,
        session=issued.session,
        scopes=scopes,
        nonce=nonce,
        refresh_token=issued.refresh_token if offline else None,
        minting=minting,
    )
    return OpenedGrant(
        response=response,
        session_id=issued.session.id,
        access_token_jti=jti,
        access_token_expires_at=expires_at,
    )


async def revoke_code_grant(
    db: AsyncSession, *, code_id: uuid.UUID, context: RequestContext, now: datetime
) -> RevokedGrant:
    """Revoke what a reused code was exchanged for: its session (refresh tokens) now; the caller
    denylists the access token it returns."""
    grant = await repository.get_code(db, code_id)
    if grant is None:
        return RevokedGrant(access_token_jti=None, access_token_expires_at=None)
    await audit.record(
        db,
        action="oauth.code_reused",
        context=context,
        now=now,
        subject_id=grant.user_id,
        details={"client_id": grant.client_id, "session_id": str(grant.session_id)},
    )
    if grant.session_id is not None:
        await sessions.revoke_all_matching(
            db,
            user_id=grant.user_id,
            session_id=grant.session_id,
            reason=CODE_REUSE_REASON,
            now=now,
        )
    return RevokedGrant(
        access_token_jti=grant.access_token_jti,
        access_token_expires_at=grant.access_token_expires_at,
    )


async def refresh(
    db: AsyncSession,
    *,
    client: OAuthClient,
    refresh_token: str | None,
    scope: str | None,
    now: datetime,
    minting: Minting,
) -> TokenResponse:
    """Rotate a refresh token issued to this client. Reuse raises :class:`RefreshTokenReused`
    (the caller revokes the family in its own unit of work)."""
    _require_grant(client, GrantType.REFRESH_TOKEN)
    if not refresh_token:
        raise InvalidRequest("refresh_token is required")
    requested = parse_scope(scope)
    if requested is None:
        raise InvalidScope("the scope parameter is malformed")
    try:
        issued = await sessions.rotate(
            db, presented=refresh_token, now=now, policy=minting.session_policy
        )
    except RefreshTokenReused:
        raise
    except InvalidRefreshToken as exc:
        raise InvalidGrant("refresh token is not valid") from exc
    session = issued.session
    # Raising here rolls the rotation back: another client's token stays as it was.
    if session.client_id != client.client_id:
        raise InvalidGrant("refresh token is not valid")
    granted = session.scope.split()
    if not set(requested) <= set(granted):
        raise InvalidScope("the requested scope exceeds the original grant")
    user = await _active_user(db, session.user_id)
    response, _jti, _expires_at = await _user_tokens(
        client=client,
        user=user,
        session=session,
        scopes=list(requested) or granted,
        nonce=None,
        refresh_token=issued.refresh_token,
        minting=minting,
    )
    return response


async def client_credentials(
    *, client: OAuthClient, scope: str | None, minting: Minting
) -> TokenResponse:
    """A token for the client itself (RFC 6749 §4.4): ``sub`` = ``client_id``, ``aud`` = its
    registered audience; the scope defaults to every API scope the client may ask for."""
    _require_grant(client, GrantType.CLIENT_CREDENTIALS)
    if not client.is_confidential or not client.audience:
        raise UnauthorizedClient("this client may not use the client_credentials grant")
    requested = parse_scope(scope)
    if requested is None:
        raise InvalidScope("the scope parameter is malformed")
    allowed = [s for s in client.scopes if s not in OIDC_SCOPES]
    if set(requested) & set(OIDC_SCOPES) or not set(requested) <= set(allowed):
        raise InvalidScope("a requested scope is not allowed for this client")
    scopes = list(requested) or allowed
    issued = await minting.service_tokens.issue(
        subject=client.client_id,
        audience=client.audience,
        client_id=client.client_id,
        scopes=scopes,
    )
    return TokenResponse(
        access_token=issued.token, expires_in=issued.expires_in, scope=" ".join(scopes)
    )
