"""Django REST Framework authentication and permissions for Roadbed access tokens.

Where the verifier comes from: ``settings.ROADBED_TOKEN_VERIFIER``, either a dotted path to a
zero-argument callable returning the :class:`TokenVerifier` or that callable itself. The
callable owns caching (decorate it with ``functools.cache``) so the JWKS cache survives between
requests; reading the setting on each request keeps ``override_settings`` working in tests.

Wire it in the blog's settings::

    ROADBED_TOKEN_VERIFIER = "roadbed_blog.auth.get_token_verifier"
    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["roadbed_core.tokens.drf.RoadbedTokenAuthentication"],
    }

Invalid tokens raise the ``roadbed_core.tokens`` problem errors (not DRF exceptions), so the
blog's ``EXCEPTION_HANDLER`` must render ``ProblemError`` with its ``status`` and ``headers``.
Anonymous requests to protected views get DRF's own ``NotAuthenticated``, which DRF answers with
401 because :meth:`RoadbedTokenAuthentication.authenticate_header` names the scheme.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from roadbed_core.errors import ProblemError
from roadbed_core.logs import bind_user_id
from roadbed_core.tokens.authorization import token_from_authorization
from roadbed_core.tokens.claims import Claims, check_access
from roadbed_core.tokens.errors import bearer_challenge
from roadbed_core.tokens.verifier import TokenVerifier

SETTING_NAME = "ROADBED_TOKEN_VERIFIER"


class TokenUser:
    """The authenticated principal DRF sees: just the token's subject, no database row.

    Services that need a profile load it by ``pk`` in their domain layer; authentication itself
    stays a pure token check.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, claims: Claims) -> None:
        self.claims = claims
        self.pk = claims.sub
        self.id = claims.sub

    def __str__(self) -> str:
        return self.pk

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenUser) and other.pk == self.pk

    def __hash__(self) -> int:
        return hash(self.pk)


def get_token_verifier() -> TokenVerifier:
    """Resolve ``settings.ROADBED_TOKEN_VERIFIER`` to the verifier (see the module doc)."""
    configured: str | Callable[[], TokenVerifier] | None = getattr(settings, SETTING_NAME, None)
    if configured is None:
        raise ImproperlyConfigured(f"set {SETTING_NAME} to a callable returning a TokenVerifier")
    factory = import_string(configured) if isinstance(configured, str) else configured
    verifier = factory()
    if not isinstance(verifier, TokenVerifier):
        raise ImproperlyConfigured(
            f"{SETTING_NAME} returned {type(verifier).__name__}, not a TokenVerifier"
        )
    return verifier


class RoadbedTokenAuthentication(BaseAuthentication):
    """Accept ``Authorization: Token <jwt>`` (the RealWorld spec) and ``Bearer <jwt>`` (RFC 6750)."""

    schemes: tuple[str, ...] = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[TokenUser, Claims] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        try:
            token = token_from_authorization(header, schemes=self.schemes)
            if token is None:
                return None
            claims = get_token_verifier().verify(token)
        except ProblemError:
            # DRF does this itself for its own exceptions: without it a later read of
            # request.user would run authentication again and raise again.
            request._not_authenticated()  # type: ignore[attr-defined]
            raise
        # Every later log line of this request names the user (the middleware unbinds it).
        bind_user_id(claims.sub)
        return TokenUser(claims), claims

    def authenticate_header(self, request: Request) -> str:
        # A non-empty challenge is what makes DRF answer 401 (not 403) to anonymous requests.
        return bearer_challenge()


def _request_claims(request: Request) -> Claims | None:
    auth = request.auth
    return auth if isinstance(auth, Claims) else None


class _TokenPermission(BasePermission):
    """Anonymous → ``False`` (DRF turns it into 401); authenticated but lacking → 403 problem."""

    def required(self, view: APIView) -> tuple[Iterable[str], Iterable[str]]:
        """(scopes, roles) this permission demands for ``view``."""
        raise NotImplementedError

    def has_permission(self, request: Request, view: APIView) -> bool:
        claims = _request_claims(request)
        if claims is None:
            return False
        scopes, roles = self.required(view)
        check_access(claims, scopes=scopes, roles=roles)
        return True


class HasScope(_TokenPermission):
    """Requires every scope in the view's ``required_scopes``."""

    def required(self, view: APIView) -> tuple[Iterable[str], Iterable[str]]:
        return getattr(view, "required_scopes", ()), ()


class HasRole(_TokenPermission):
    """Requires one of the roles in the view's ``required_roles``."""

    def required(self, view: APIView) -> tuple[Iterable[str], Iterable[str]]:
        return (), getattr(view, "required_roles", ())


def token_permission(
    *, scopes: Iterable[str] = (), roles: Iterable[str] = ()
) -> type[BasePermission]:
    """A permission class demanding all ``scopes`` and any of ``roles``, for ``permission_classes``."""
    wanted: tuple[tuple[str, ...], tuple[str, ...]] = (tuple(scopes), tuple(roles))

    class RequiresToken(_TokenPermission):
        def required(self, view: APIView) -> tuple[Iterable[str], Iterable[str]]:
            return wanted

    return RequiresToken


__all__ = [
    "HasRole",
    "HasScope",
    "RoadbedTokenAuthentication",
    "TokenUser",
    "get_token_verifier",
    "token_permission",
]
