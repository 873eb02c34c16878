"""Django / DRF integration: plain and DRF views, the middleware in sync and async mode.

Django is configured here only if nobody configured it first (another suite may have); every
test then overrides exactly the settings it relies on, so it passes whatever the base settings.
This module is also the URLconf (``ROOT_URLCONF = __name__``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import django
import pytest
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="roadbed-core-tests",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()

# Imported only now: DRF's authentication module needs the app registry ready.
from django.http import Http404, HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import include, path, re_path
from rest_framework import serializers, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from roadbed_core.errors import Conflict
from roadbed_core.health import HealthRegistry
from roadbed_core.integrations.django import (
    django_db_check,
    observability_urls,
    template_from_django_route,
)
from roadbed_core.logs import get_logger
from roadbed_core.metrics import METRICS_CONTENT_TYPE, service_metrics

SERVICE = "blog-core-tests"
UUID_HEX = re.compile(r"[0-9a-f]{32}")
logger = get_logger("tests.blog")


# --- the app under test ------------------------------------------------------------------------


class ClaimsUser:
    is_authenticated = True


class BearerClaims(BaseAuthentication):
    """Stands in for the verifier's DRF adapter: ``Bearer <sub>`` authenticates as ``<sub>``."""

    def authenticate(self, request: Request) -> tuple[ClaimsUser, dict[str, str]] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        return ClaimsUser(), {"sub": header.removeprefix("Bearer ")}

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="blog"'


class ArticleIn(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(min_length=3)
    tags = serializers.ListField(child=serializers.CharField(max_length=5))


class ArticleViewSet(viewsets.ViewSet):
    lookup_field = "slug"
    authentication_classes = [BearerClaims]
    permission_classes: list[type] = []

    def retrieve(self, request: Request, slug: str) -> Response:
        logger.info("loading_article", slug=slug)
        if slug == "missing":
            raise Http404("No Article matches the given query.")
        if slug == "closed":
            raise Conflict("Comments are closed.", headers={"X-Article-State": "closed"})
        if slug == "boom":
            raise RuntimeError("database password is hunter2")
        return Response({"slug": slug})

    def create(self, request: Request) -> Response:
        serializer = ArticleIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


class MeView(APIView):
    authentication_classes = [BearerClaims]
    permission_classes: list[type] = []

    def get(self, request: Request) -> Response:
        if request.auth is None:
            raise NotAuthenticated()
        return Response({"sub": request.auth["sub"]})


def plain_conflict(request: HttpRequest) -> HttpResponse:
    raise Conflict("Plain views raise problems too.")


def plain_boom(request: HttpRequest, kind: str) -> HttpResponse:
    raise RuntimeError("database password is hunter2")


router = SimpleRouter()
router.register("articles", ArticleViewSet, basename="article")

health = HealthRegistry(SERVICE)

urlpatterns = [
    path("api/", include(router.urls)),
    path("api/me", MeView.as_view()),
    path("plain/conflict", plain_conflict),
    re_path(r"^plain/boom/(?P<kind>[a-z]+(?:-[a-z]+)?)$", plain_boom),
    *observability_urls(health=health),
]
handler404 = "roadbed_core.integrations.django.handler404"
handler500 = "roadbed_core.integrations.django.handler500"


@pytest.fixture(autouse=True)
def roadbed_settings() -> Iterator[None]:
    with override_settings(
        ROOT_URLCONF=__name__,
        ROADBED_SERVICE=SERVICE,
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        MIDDLEWARE=["roadbed_core.integrations.django.ObservabilityMiddleware"],
        REST_FRAMEWORK={
            "EXCEPTION_HANDLER": "roadbed_core.integrations.django.problem_exception_handler",
            "UNAUTHENTICATED_USER": None,
        },
    ):
        yield


@pytest.fixture(autouse=True)
def fresh_health() -> Iterator[HealthRegistry]:
    health._checks.clear()
    yield health
    health._checks.clear()


@pytest.fixture
def client() -> Client:
    return Client()


def requests_total(method: str, route: str, status: str) -> float:
    labels = {"service": SERVICE, "method": method, "route": route, "status": status}
    return service_metrics(SERVICE).registry.get_sample_value("http_requests_total", labels) or 0.0


# --- request ids ------------------------------------------------------------------------------


def test_request_id_is_generated_when_absent(client: Client, log_lines) -> None:
    response = client.get("/api/articles/hello/")
    request_id = response.headers["X-Request-ID"]
    assert UUID_HEX.fullmatch(request_id)
    assert [line["request_id"] for line in log_lines.access_lines()] == [request_id]


def test_sane_request_id_is_accepted_and_echoed(client: Client) -> None:
    response = client.get("/api/articles/hello/", headers={"X-Request-ID": "edge-01.req_9f8e7d"})
    assert response.headers["X-Request-ID"] == "edge-01.req_9f8e7d"


@pytest.mark.parametrize("incoming", ["has spaces", "semi;colon", "x" * 129, ""], ids=repr)
def test_insane_request_id_is_replaced(client: Client, incoming: str) -> None:
    response = client.get("/api/articles/hello/", headers={"X-Request-ID": incoming})
    assert UUID_HEX.fullmatch(response.headers["X-Request-ID"])


# --- logs -------------------------------------------------------------------------------------


def test_one_access_line_per_request_with_route_template(client: Client, log_lines) -> None:
    response = client.get("/api/articles/hello/", headers={"X-Request-ID": "req-1"})
    assert response.status_code == 200
    assert log_lines.access_lines() == [
        {
            "event": "request",
            "level": "info",
            "logger": "roadbed.access",
            "method": "GET",
            "route": "/api/articles/{slug}/",
            "path": "/api/articles/hello/",
            "status": 200,
            "request_id": "req-1",
            "service": SERVICE,
        }
    ]
    [duration] = log_lines.durations_ms()
    assert isinstance(duration, float)


def test_lines_logged_inside_the_view_carry_the_request_context(client: Client, log_lines) -> None:
    client.get("/api/articles/hello/", headers={"X-Request-ID": "req-2"})
    [line] = log_lines.events("loading_article")
    assert (line["request_id"], line["service"], line["slug"]) == ("req-2", SERVICE, "hello")


def test_access_line_names_the_user_from_drf_auth(client: Client, log_lines) -> None:
    client.get("/api/me", headers={"Authorization": "Bearer user-42"})
    [line] = log_lines.access_lines()
    assert (line["route"], line["user_id"], line["status"]) == ("/api/me", "user-42", 200)


def test_no_django_request_warning_duplicates_the_access_line(client: Client, log_lines) -> None:
    client.get("/nowhere")
    assert [(line["logger"], line["status"]) for line in log_lines.all()] == [
        ("roadbed.access", 404)
    ]


async def test_async_mode_binds_the_context_and_logs_the_request(log_lines) -> None:
    # given Django serving through its async handler (as under ASGI in the embedded composition)
    client = AsyncClient()
    # when
    response = await client.get("/api/articles/hello/", headers={"X-Request-ID": "req-async"})
    # then
    assert (response.status_code, response.headers["X-Request-ID"]) == (200, "req-async")
    [view_line] = log_lines.events("loading_article")
    assert view_line["request_id"] == "req-async"
    [access] = log_lines.access_lines()
    assert (access["route"], access["request_id"], access["status"]) == (
        "/api/articles/{slug}/",
        "req-async",
        200,
    )


def test_request_context_is_gone_after_the_request(client: Client, log_lines) -> None:
    client.get("/api/articles/hello/")
    get_logger("tests").info("after")
    [line] = log_lines.events("after")
    assert ("request_id" in line, "service" in line) == (False, False)


# --- metrics ----------------------------------------------------------------------------------


def test_metrics_count_by_route_template_and_status(client: Client) -> None:
    # given the process-wide registry of the service: compare before and after
    before = {
        key: requests_total(*key)
        for key in [
            ("GET", "/api/articles/{slug}/", "200"),
            ("GET", "/api/articles/{slug}/", "404"),
            ("GET", "<unmatched>", "404"),
            ("GET", "/plain/boom/{kind}", "500"),
        ]
    }
    # when
    client.get("/api/articles/one/")
    client.get("/api/articles/two/")
    client.get("/api/articles/missing/")
    client.get("/nowhere")
    client.get("/plain/boom/x-y")
    # then
    after = {key: requests_total(*key) - value for key, value in before.items()}
    assert after == {
        ("GET", "/api/articles/{slug}/", "200"): 2.0,
        ("GET", "/api/articles/{slug}/", "404"): 1.0,
        ("GET", "<unmatched>", "404"): 1.0,
        ("GET", "/plain/boom/{kind}", "500"): 1.0,
    }


def test_metrics_endpoint_exposes_text_format(client: Client) -> None:
    client.get("/api/articles/one/")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == METRICS_CONTENT_TYPE
    assert any(
        line.startswith(
            f'http_requests_total{{method="GET",route="/api/articles/{{slug}}/",service="{SERVICE}",status="200"}} '
        )
        for line in response.content.decode().splitlines()
    )


@pytest.mark.parametrize(
    ("route", "template"),
    [
        ("api/articles/<slug:slug>", "/api/articles/{slug}"),
        ("^api/^articles/(?P<slug>[^/.]+)/$", "/api/articles/{slug}/"),
        (r"^files/(?P<name>(?:[a-z]+)\.(?:txt|md))\Z", "/files/{name}"),
        ("", "/"),
    ],
)
def test_django_routes_become_templates(route: str, template: str) -> None:
    assert template_from_django_route(route) == template


# --- health -----------------------------------------------------------------------------------


def test_healthz_is_always_ok(client: Client, fresh_health: HealthRegistry) -> None:
    fresh_health.add("db", _failing_check)
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "service": SERVICE})


@pytest.mark.django_db
def test_readyz_with_the_django_db_check(client: Client, fresh_health: HealthRegistry) -> None:
    fresh_health.add("db", django_db_check())
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["checks"]["db"]["status"]) == ("ok", "ok")


def test_readyz_is_503_when_a_check_fails(client: Client, fresh_health: HealthRegistry) -> None:
    fresh_health.add("db", django_db_check("no-such-alias"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["db"] == {
        "status": "error",
        "duration_ms": response.json()["checks"]["db"]["duration_ms"],
        "error": "ConnectionDoesNotExist: The connection 'no-such-alias' doesn't exist.",
    }


def test_readyz_is_503_when_a_check_times_out(client: Client, fresh_health: HealthRegistry) -> None:
    release = threading.Event()
    fresh_health.add("db", lambda: release.wait(60), timeout=0.05)
    try:
        response = client.get("/readyz")
    finally:
        release.set()
    assert response.status_code == 503
    assert response.json()["checks"]["db"]["error"] == "timed out after 0.05s"


# --- problem details --------------------------------------------------------------------------


def test_drf_problem_error_renders_its_status_body_and_headers(client: Client) -> None:
    response = client.get("/api/articles/closed/")
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["X-Article-State"] == "closed"
    assert response.json() == {
        "type": "urn:roadbed:problem:conflict",
        "title": "Conflict",
        "status": 409,
        "code": "conflict",
        "detail": "Comments are closed.",
    }


def test_plain_view_problem_error_is_rendered_by_the_middleware(client: Client) -> None:
    response = client.get("/plain/conflict")
    assert (response.status_code, response.headers["Content-Type"]) == (
        409,
        "application/problem+json",
    )
    assert response.json()["detail"] == "Plain views raise problems too."


def test_drf_validation_error_is_422_with_field_errors(client: Client) -> None:
    response = client.post(
        "/api/articles/",
        {"title": "ab", "tags": ["ok", "too-long"]},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:roadbed:problem:validation_failed",
        "title": "Unprocessable Content",
        "status": 422,
        "code": "validation_failed",
        "detail": "The request is invalid.",
        "errors": [
            {
                "field": "title",
                "message": "Ensure this field has at least 3 characters.",
                "code": "min_length",
            },
            {
                "field": "tags.1",
                "message": "Ensure this field has no more than 5 characters.",
                "code": "max_length",
            },
        ],
    }


def test_drf_http404_is_a_404_problem(client: Client) -> None:
    response = client.get("/api/articles/missing/")
    assert response.status_code == 404
    assert response.json() == {
        "type": "urn:roadbed:problem:not_found",
        "title": "Not Found",
        "status": 404,
        "code": "not_found",
        "detail": "Not found.",
    }


def test_drf_not_authenticated_is_a_401_problem_with_challenge(client: Client) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="blog"'
    assert response.json() == {
        "type": "urn:roadbed:problem:unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "code": "unauthorized",
        "detail": "Authentication credentials were not provided.",
    }


def test_drf_wrong_method_is_a_405_problem(client: Client) -> None:
    response = client.delete("/api/me")
    assert response.status_code == 405
    assert response.json() == {
        "type": "urn:roadbed:problem:method_not_allowed",
        "title": "Method Not Allowed",
        "status": 405,
        "code": "method_not_allowed",
        "detail": 'Method "DELETE" not allowed.',
    }


def test_unknown_route_is_a_404_problem(client: Client) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:roadbed:problem:not_found",
        "title": "Not Found",
        "status": 404,
        "code": "not_found",
    }


@pytest.mark.parametrize("url", ["/api/articles/boom/", "/plain/boom/x"])
def test_unhandled_exception_is_logged_and_a_bare_500(client: Client, log_lines, url: str) -> None:
    response = client.get(url, headers={"X-Request-ID": "req-boom"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-boom"
    assert response.json() == {
        "type": "urn:roadbed:problem:internal_error",
        "title": "Internal Server Error",
        "status": 500,
        "code": "internal_error",
    }
    assert b"hunter2" not in response.content
    [error] = log_lines.events("unhandled_exception")
    assert (error["request_id"], error["level"], error["path"]) == ("req-boom", "error", url)
    assert error["exception"][0]["exc_type"] == "RuntimeError"
    assert [line["status"] for line in log_lines.access_lines()] == [500]


def _failing_check() -> None:
    raise ConnectionRefusedError(111, "Connection refused")


def test_mounted_project_reports_templates_relative_to_its_prefix(
    client: Client, log_lines
) -> None:
    # given the project served under /blog (SCRIPT_NAME), as in the embedded composition
    response = client.get("/api/articles/hello/", SCRIPT_NAME="/blog")
    # then
    assert response.status_code == 200
    [line] = log_lines.access_lines()
    assert (line["route"], line["path"]) == ("/api/articles/{slug}/", "/blog/api/articles/hello/")
