"""Flask integration for Roadbed access tokens.

Where the verifier comes from: ``current_app.extensions["roadbed_token_verifier"]``, put there by
:func:`init_app` in the app factory, so every app (and every test app) carries its own.

Usage::

    init_app(app, verifier)

    @bp.get("/projects")
    @require_token(scopes=("tasks:read",))
    def list_projects(): claims = g.claims ...

Failures raise the ``roadbed_core.tokens`` problem errors (401 with ``WWW-Authenticate``, 403);
the service's problem handler renders them. Views must be synchronous (the verifier blocks on
the cache and, rarely, on a JWKS fetch), which is how the tasks service is written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Final, ParamSpec, TypeVar

from flask import Flask, current_app, g, request

from roadbed_core.logs import bind_user_id
from roadbed_core.tokens.authorization import token_from_authorization
from roadbed_core.tokens.claims import Claims, check_access
from roadbed_core.tokens.errors import MissingToken
from roadbed_core.tokens.verifier import TokenVerifier

EXTENSION_KEY: Final = "roadbed_token_verifier"

P = ParamSpec("P")
R = TypeVar("R")


def init_app(app: Flask, verifier: TokenVerifier) -> None:
    """Make ``verifier`` the one :func:`require_token` uses inside ``app``."""
    app.extensions[EXTENSION_KEY] = verifier


def get_verifier() -> TokenVerifier:
    """The current app's verifier (fails loudly when :func:`init_app` was not called)."""
    verifier = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError(
            f"no TokenVerifier in app.extensions[{EXTENSION_KEY!r}]; call init_app()"
        )
    return verifier


def current_claims() -> Claims | None:
    """The claims a decorator stored for this request, ``None`` when anonymous."""
    claims = g.get("claims")
    return claims if isinstance(claims, Claims) else None


def _claims_from_request() -> Claims | None:
    token = token_from_authorization(request.headers.get("Authorization"))
    if token is None:
        return None
    claims = get_verifier().verify(token)
    # Every later log line of this request names the user (the request hooks unbind it).
    bind_user_id(claims.sub)
    return claims


def require_token(
    *, scopes: Iterable[str] = (), roles: Iterable[str] = ()
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: verify the bearer token, check all ``scopes`` and any of ``roles``, set ``g.claims``."""
    wanted_scopes, wanted_roles = tuple(scopes), tuple(roles)

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            claims = _claims_from_request()
            if claims is None:
                raise MissingToken()
            check_access(claims, scopes=wanted_scopes, roles=wanted_roles)
            g.claims = claims
            return view(*args, **kwargs)

        return wrapper

    return decorate


def optional_token() -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: like :func:`require_token` but anonymous requests pass with ``g.claims = None``.

    A token that is present but invalid still raises, so clients learn their token is bad.
    """

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            g.claims = _claims_from_request()
            return view(*args, **kwargs)

        return wrapper

    return decorate
