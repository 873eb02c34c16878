"""DRF adapter end to end: APIViews behind Django's test Client, real tokens.

Django is configured minimally here (in-memory SQLite, no project) unless another test module or
``DJANGO_SETTINGS_MODULE`` got there first; everything this module needs beyond that (URLs, the
verifier setting) comes through ``override_settings``, so it works on either configuration.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import django
import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.urls import path

if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
    settings.configure(
        SECRET_KEY="roadbed-core-token-tests",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
    )
if not apps.ready:
    django.setup()

# DRF reads Django settings at import time, so it is imported after the configuration above.
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView, exception_handler

from roadbed_core.errors import ProblemError
from roadbed_core.tokens import InvalidToken, TokenVerifier
from roadbed_core.tokens.drf import (
    HasRole,
    HasScope,
    RoadbedTokenAuthentication,
    TokenUser,
    get_token_verifier,
    token_permission,
)


def problem_or_default(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Rendering problems belongs to the blog; this is the minimum a test view needs."""
    if isinstance(exc, ProblemError):
        return Response(exc.to_problem(), status=exc.status, headers=exc.headers)
    return exception_handler(exc, context)


class TokenView(APIView):
    authentication_classes = [RoadbedTokenAuthentication]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self) -> Any:
        return problem_or_default

    def get(self, request: Request) -> Response:
        return Response({"sub": request.user.pk, "client_id": request.auth.client_id})


class AdminView(TokenView):
    permission_classes = [IsAuthenticated, HasRole]
    required_roles = ("admin",)


class WriterView(TokenView):
    permission_classes = [HasScope]
    required_scopes = ("articles:write",)


class EditorView(TokenView):
    permission_classes = [token_permission(scopes=("articles:read",), roles=("editor", "admin"))]


class Urls:
    """A URLconf without a module (Django accepts any hashable object with ``urlpatterns``)."""

    urlpatterns = [
        path("admin", AdminView.as_view()),
        path("write", WriterView.as_view()),
        path("edit", EditorView.as_view()),
    ]


@pytest.fixture
def client(verifier: TokenVerifier) -> Iterator[Client]:
    with override_settings(ROOT_URLCONF=Urls, ROADBED_TOKEN_VERIFIER=lambda: verifier):
        yield Client()


def auth(scheme: str, token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"{scheme} {token}"}


@pytest.mark.parametrize("url", ["/admin", "/write", "/edit"])
def test_anonymous_request_gets_401_with_the_bare_challenge(client: Client, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_bad_token_gets_401_invalid_token(client: Client, tokens: Any) -> None:
    response = client.get("/admin", **auth("Bearer", tokens.sign(exp=1_000_000, iat=999_000)))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="The access token expired"'
    )
    assert response.json() == {
        "type": "urn:roadbed:problem:invalid_token",
        "title": "Unauthorized",
        "status": 401,
        "code": "invalid_token",
        "detail": "expired",
    }


@pytest.mark.parametrize(
    ("url", "claims"),
    [
        ("/admin", {"roles": ["author"]}),
        ("/write", {"scope": "articles:read"}),
        ("/edit", {"roles": ["author"]}),
        ("/edit", {"roles": ["editor"], "scope": "profile"}),
    ],
)
def test_wrong_role_or_scope_gets_403(
    client: Client, tokens: Any, url: str, claims: dict[str, Any]
) -> None:
    response = client.get(url, **auth("Bearer", tokens.sign(**claims)))

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer"])
@pytest.mark.parametrize(
    ("url", "claims"),
    [
        ("/admin", {"roles": ["admin"]}),
        ("/write", {"scope": "articles:write"}),
        ("/edit", {"roles": ["editor"]}),
    ],
)
def test_right_role_gets_200_with_either_scheme(
    client: Client, tokens: Any, scheme: str, url: str, claims: dict[str, Any]
) -> None:
    response = client.get(url, **auth(scheme, tokens.sign(sub="user-9", **claims)))

    assert (response.status_code, response.json()) == (
        200,
        {"sub": "user-9", "client_id": "roadbed-web"},
    )


def test_other_schemes_are_left_to_other_authenticators(client: Client) -> None:
    response = client.get("/admin", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_authenticate_returns_a_token_user_and_the_claims(
    verifier: TokenVerifier, tokens: Any
) -> None:
    request = Request(
        APIRequestFactory().get("/", **auth("Token", tokens.sign(sub="user-3"))),
        authenticators=[RoadbedTokenAuthentication()],
    )

    with override_settings(ROADBED_TOKEN_VERIFIER=lambda: verifier):
        user = request.user

    assert isinstance(user, TokenUser)
    assert (user.pk, user.id, str(user), user.is_authenticated) == (
        "user-3",
        "user-3",
        "user-3",
        True,
    )
    assert request.auth is user.claims


def test_failed_authentication_leaves_the_request_anonymous(verifier: TokenVerifier) -> None:
    # Given a request whose token is rejected
    request = Request(
        APIRequestFactory().get("/", **auth("Bearer", "not-a-jwt")),
        authenticators=[RoadbedTokenAuthentication()],
    )

    with override_settings(ROADBED_TOKEN_VERIFIER=lambda: verifier):
        with pytest.raises(InvalidToken):
            _ = request.user
        # Then reading the user again does not re-run (and re-raise) authentication; what it
        # reads is DRF's UNAUTHENTICATED_USER (AnonymousUser, or None if a project says so)
        user = request.user
    assert getattr(user, "is_authenticated", False) is False
    assert request.auth is None


def test_missing_or_wrong_verifier_setting_is_improperly_configured() -> None:
    with override_settings(ROADBED_TOKEN_VERIFIER=None), pytest.raises(ImproperlyConfigured):
        get_token_verifier()
    with (
        override_settings(ROADBED_TOKEN_VERIFIER="builtins.dict"),
        pytest.raises(ImproperlyConfigured, match="returned dict, not a TokenVerifier"),
    ):
        get_token_verifier()
