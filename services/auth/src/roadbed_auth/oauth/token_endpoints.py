"""HTTP endpoints for clients: token (RFC 6749), revocation (RFC 7009), introspection
(RFC 7662) and userinfo (OIDC Core §5.3). Errors use RFC 6749 bodies, never problem+json."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final
from urllib.parse import unquote_plus

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from roadbed_auth.context import RequestContext
from roadbed_auth.oauth import clients, device, grants, tokens
from roadbed_auth.oauth.clients import AuthMethod, PresentedCredentials
from roadbed_auth.oauth.components import OAuthComponents, oauth_components
from roadbed_auth.oauth.errors import (
    AuthorizationCodeReused,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    OAuthError,
    UnsupportedGrantType,
)
from roadbed_auth.oauth.models import GrantType, OAuthClient
from roadbed_auth.oauth.schemas import (
    ClientAuthForm,
    DeviceAuthorizationBody,
    DeviceAuthorizationRequest,
    IntrospectionBody,
    OAuthErrorBody,
    TokenBody,
    TokenForm,
    TokenRequest,
    UserInfoBody,
)
from roadbed_auth.session import service as sessions
from roadbed_auth.session.service import RefreshTokenReused
from roadbed_core.db import unit_of_work
from roadbed_core.tokens.claims import Claims
from roadbed_core.tokens.fastapi import require_token
from roadbed_core.tokens.revocation import arevoke_token

NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": OAuthErrorBody, "description": "RFC 6749 §5.2 error"},
    401: {"model": OAuthErrorBody, "description": "Client authentication failed"},
}


def oauth_error_response(error: OAuthError) -> JSONResponse:
    return JSONResponse(
        error.body(), status_code=error.status, headers={**NO_STORE, **error.headers}
    )


class OAuthRoute(APIRoute):
    """Answers :class:`OAuthError` and malformed forms as RFC 6749 §5.2 error bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except OAuthError as error:
                return oauth_error_response(error)
            except RequestValidationError as exc:
                fields = sorted({str(err["loc"][-1]) for err in exc.errors() if err.get("loc")})
                return oauth_error_response(
                    InvalidRequest("missing or invalid parameter: " + ", ".join(fields))
                )

        return route


router = APIRouter(prefix="/oauth", tags=["oauth"], route_class=OAuthRoute)
userinfo_router = APIRouter(prefix="/oauth", tags=["oauth"])

OAuth = Annotated[OAuthComponents, Depends(oauth_components)]


async def _single_valued(request: Request) -> None:
    """RFC 6749 §3.1: request parameters MUST NOT be included more than once."""
    form = await request.form()
    names = [name for name, _value in form.multi_items()]
    if len(names) != len(set(names)):
        raise InvalidRequest("a parameter is repeated")


def _presented(request: Request, form: ClientAuthForm) -> PresentedCredentials:
    """The client credentials of the request: HTTP Basic or the body, never both (RFC 6749 §2.3)."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise InvalidClient("only HTTP Basic client authentication is supported")
        if form.client_secret is not None:
            raise InvalidRequest("use one client authentication method, not two")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidClient("malformed Basic credentials") from None
        client_id, separator, secret = decoded.partition(":")
        if not separator:
            raise InvalidClient("malformed Basic credentials")
        # RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        if form.client_id is not None and form.client_id != client_id:
            raise InvalidRequest("client_id does not match the authenticated client")
        return PresentedCredentials(client_id=client_id, secret=secret, method=AuthMethod.BASIC)
    if form.client_id is None:
        raise InvalidClient("client authentication is required")
    if form.client_secret is not None:
        return PresentedCredentials(
            client_id=form.client_id, secret=form.client_secret, method=AuthMethod.POST
        )
    return PresentedCredentials(client_id=form.client_id, secret=None, method=AuthMethod.NONE)


async def _authenticate(
    oauth: OAuthComponents,
    request: Request,
    form: ClientAuthForm,
    *,
    confidential_only: bool = False,
) -> OAuthClient:
    credentials = _presented(request, form)
    async with oauth.auth.sessions() as db:
        return await clients.authenticate(
            db, credentials=credentials, confidential_only=confidential_only
        )


@router.post(
    "/token",
    response_model=TokenBody,
    response_model_exclude_none=True,
    responses=ERRORS,
    dependencies=[Depends(_single_valued)],
)
async def token(
    body: Annotated[TokenRequest, Form()], request: Request, oauth: OAuth
) -> JSONResponse:
    """Exchange a grant for tokens: authorization_code (+PKCE), refresh_token, client_credentials."""
    client = await _authenticate(oauth, request, body)
    now = oauth.clock()
    context = RequestContext.from_request(request)
    if body.grant_type == "authorization_code":
        try:
            async with unit_of_work(oauth.auth.sessions) as db:
                response = await grants.exchange_code(
                    db,
                    client=client,
                    code=body.code,
                    redirect_uri=body.redirect_uri,
                    code_verifier=body.code_verifier,
                    context=context,
                    now=now,
                    minting=oauth.minting,
                )
        except AuthorizationCodeReused as reused:
            async with unit_of_work(oauth.auth.sessions) as db:
                revoked = await grants.revoke_code_grant(
                    db, code_id=reused.code_id, context=context, now=now
                )
            if revoked.access_token_jti and revoked.access_token_expires_at:
                await arevoke_token(
                    oauth.auth.cache, revoked.access_token_jti, revoked.access_token_expires_at
                )
            raise
    elif body.grant_type == "refresh_token":
        try:
            async with unit_of_work(oauth.auth.sessions) as db:
                response = await grants.refresh(
                    db,
                    client=client,
                    refresh_token=body.refresh_token,
                    scope=body.scope,
                    now=now,
                    minting=oauth.minting,
                )
        except RefreshTokenReused as reused:
            async with unit_of_work(oauth.auth.sessions) as db:
                await sessions.revoke_family(db, reused=reused, now=now)
            raise InvalidGrant("refresh token was reused; its session has been revoked") from None
    elif body.grant_type == GrantType.DEVICE_CODE:
        async with unit_of_work(oauth.auth.sessions) as db:
            outcome = await device.poll(
                db,
                client=client,
                device_code=body.device_code,
                context=context,
                now=now,
                minting=oauth.minting,
            )
        if isinstance(outcome, OAuthError):
            raise outcome  # after the commit: the poll is recorded
        response = outcome
    elif body.grant_type == "client_credentials":
        response = await grants.client_credentials(
            client=client, scope=body.scope, minting=oauth.minting
        )
    else:
        raise UnsupportedGrantType("this grant type is not supported")
    return JSONResponse(response.body(), headers=NO_STORE)


@router.post(
    "/device_authorization",
    response_model=DeviceAuthorizationBody,
    responses=ERRORS,
    dependencies=[Depends(_single_valued)],
)
async def device_authorization(
    body: Annotated[DeviceAuthorizationRequest, Form()], request: Request, oauth: OAuth
) -> JSONResponse:
    """Start the device authorization grant (RFC 8628): a device code and a user code."""
    client = await _authenticate(oauth, request, body)
    async with unit_of_work(oauth.auth.sessions) as db:
        grant = await device.start(
            db, client=client, scope=body.scope, issuer=oauth.issuer, now=oauth.clock()
        )
    return JSONResponse(grant.body(), headers=NO_STORE)


@router.post("/revoke", responses=ERRORS, dependencies=[Depends(_single_valued)])
async def revoke(body: Annotated[TokenForm, Form()], request: Request, oauth: OAuth) -> Response:
    """Revoke a refresh or access token issued to the calling client (RFC 7009); always 200."""
    client = await _authenticate(oauth, request, body)
    async with unit_of_work(oauth.auth.sessions) as db:
        await tokens.revoke(
            db,
            client=client,
            token=body.token,
            hint=body.token_type_hint,
            reader=oauth.reader,
            now=oauth.clock(),
        )
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/introspect",
    response_model=IntrospectionBody,
    responses=ERRORS,
    dependencies=[Depends(_single_valued)],
)
async def introspect(
    body: Annotated[TokenForm, Form()], request: Request, oauth: OAuth
) -> JSONResponse:
    """Whether a token is active, and its metadata (RFC 7662); confidential clients only."""
    client = await _authenticate(oauth, request, body, confidential_only=True)
    async with oauth.auth.sessions() as db:
        answer = await tokens.introspect(
            db,
            client=client,
            token=body.token,
            hint=body.token_type_hint,
            reader=oauth.reader,
            now=oauth.clock(),
        )
    return JSONResponse(answer, headers=NO_STORE)


OpenIdClaims = Annotated[Claims, Depends(require_token(scopes=("openid",)))]


async def _userinfo(claims: Claims, oauth: OAuthComponents) -> JSONResponse:
    async with oauth.auth.sessions() as db:
        answer = await tokens.userinfo(db, claims=claims)
    return JSONResponse(answer, headers=NO_STORE)


@userinfo_router.get("/userinfo", response_model=UserInfoBody)
async def userinfo(claims: OpenIdClaims, oauth: OAuth) -> JSONResponse:
    """The signed-in user's claims (OIDC Core §5.3): a Bearer access token with ``openid``."""
    return await _userinfo(claims, oauth)


@userinfo_router.post("/userinfo", response_model=UserInfoBody)
async def userinfo_post(claims: OpenIdClaims, oauth: OAuth) -> JSONResponse:
    """The same as ``GET /oauth/userinfo``, for clients that send the token in a POST (OIDC Core §5.3.1)."""
    return await _userinfo(claims, oauth)
