"""FastAPI dependencies for bearer tokens.

Where the verifier comes from: each FastAPI app keeps its own on ``app.state.token_verifier``
(set it with :func:`install_token_verifier` in the app factory). Starlette points
``request.app`` at the innermost app, so in embedded mode every mounted service reads its own
verifier. Pass ``verifier_getter`` to the factories to look it up elsewhere.

Usage::

    AdminClaims = Annotated[Claims, Depends(require_token(roles=("admin",)))]

    @router.get("/orders")
    async def list_orders(claims: AdminClaims) -> ...: ...

Failures raise the ``roadbed_core.tokens`` problem errors (401 with ``WWW-Authenticate``, 403);
the service's problem handler renders them.
"""

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Final

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from roadbed_core.logs import bind_user_id
from roadbed_core.tokens.claims import Claims, check_access
from roadbed_core.tokens.errors import MissingToken
from roadbed_core.tokens.verifier import TokenVerifier

VerifierGetter = Callable[[Request], TokenVerifier]

# One scheme object for the whole process: OpenAPI then documents a single "bearerAuth" scheme.
# auto_error=False so a missing token reaches us and becomes our problem error, not FastAPI's.
bearer_scheme: Final = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="RFC 9068 access token issued by the auth service",
)

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def install_token_verifier(app: FastAPI, verifier: TokenVerifier) -> None:
    """Make ``verifier`` the one the dependencies of ``app`` use."""
    app.state.token_verifier = verifier


def verifier_from_app(request: Request) -> TokenVerifier:
    """The verifier installed on the app serving ``request`` (fails loudly when it is missing)."""
    verifier = getattr(request.app.state, "token_verifier", None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError("no TokenVerifier on app.state; call install_token_verifier(app, ...)")
    return verifier


def _remember(request: Request, claims: Claims) -> None:
    # The observability middleware reads ``scope["state"]["claims"]`` for the access line's
    # user id; binding it also stamps every log line the endpoint writes from here on.
    request.state.claims = claims
    bind_user_id(claims.sub)


def require_token(
    *,
    scopes: Iterable[str] = (),
    roles: Iterable[str] = (),
    verifier_getter: VerifierGetter = verifier_from_app,
) -> Callable[..., Awaitable[Claims]]:
    """Dependency returning the verified :class:`Claims`; needs all ``scopes`` and any of ``roles``."""
    wanted_scopes, wanted_roles = tuple(scopes), tuple(roles)

    async def dependency(request: Request, credentials: Credentials) -> Claims:
        if credentials is None:
            raise MissingToken()
        claims = await verifier_getter(request).averify(credentials.credentials)
        _remember(request, claims)
        check_access(claims, scopes=wanted_scopes, roles=wanted_roles)
        return claims

    return dependency


def optional_token(
    *,
    verifier_getter: VerifierGetter = verifier_from_app,
) -> Callable[..., Awaitable[Claims | None]]:
    """Dependency returning :class:`Claims`, or ``None`` for anonymous requests.

    A token that is present but invalid still raises: a client that sends a bad token should
    learn about it instead of silently being served the anonymous view.
    """

    async def dependency(request: Request, credentials: Credentials) -> Claims | None:
        if credentials is None:
            return None
        claims = await verifier_getter(request).averify(credentials.credentials)
        _remember(request, claims)
        return claims

    return dependency
