"""Django / DRF wiring.

In settings::

    ROADBED_SERVICE = "blog"
    MIDDLEWARE = ["roadbed_core.integrations.django.ObservabilityMiddleware", ...]  # first
    REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "roadbed_core.integrations.django.problem_exception_handler",
    }
    LOGGING_CONFIG = None  # configure_logging() owns logging; Django's defaults would duplicate

In the root URLconf::

    urlpatterns = [..., *observability_urls(health=health)]
    handler400 = "roadbed_core.integrations.django.handler400"
    handler403 = "roadbed_core.integrations.django.handler403"
    handler404 = "roadbed_core.integrations.django.handler404"
    handler500 = "roadbed_core.integrations.django.handler500"

The middleware is sync- and async-capable, so under ASGI (the embedded composition) it does not
force a thread hop per request, and it binds the log context in the request's own context.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern, path
from django.utils.functional import LazyObject
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from rest_framework import exceptions as drf_exceptions
from rest_framework.views import set_rollback

from roadbed_core.errors import PROBLEM_CONTENT_TYPE, ProblemError
from roadbed_core.health import HealthRegistry, SyncCheck
from roadbed_core.integrations import (
    HEALTHZ_PATH,
    METRICS_PATH,
    READYZ_PATH,
    REQUEST_ID_HEADER,
    field_errors_from_messages,
    http_problem,
    internal_error_problem,
    log_unhandled_exception,
    record_request,
    resolve_request_id,
    resolve_user_id,
    template_from_angle_route,
    validation_problem,
)
from roadbed_core.logs import bind_request
from roadbed_core.metrics import METRICS_CONTENT_TYPE, UNMATCHED_ROUTE, HttpMetrics, service_metrics

SERVICE_SETTING: Final = "ROADBED_SERVICE"

SyncGetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


def problem_response(
    body: Mapping[str, Any], *, status: int, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """An ``application/problem+json`` response."""
    return HttpResponse(
        json.dumps(body),
        status=status,
        headers=dict(headers or {}),
        content_type=PROBLEM_CONTENT_TYPE,
    )


# --- route templates --------------------------------------------------------------------------

_NAMED_GROUP_START = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")


def _replace_named_groups(pattern: str) -> str:
    """``(?P<slug>[^/.]+)`` → ``{slug}``, skipping nested parentheses inside the group."""
    result: list[str] = []
    position = 0
    while (match := _NAMED_GROUP_START.search(pattern, position)) is not None:
        result.append(pattern[position : match.start()])
        depth, index = 1, match.end()
        while index < len(pattern) and depth:
            char = pattern[index]
            if char == "\\":
                index += 1
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            index += 1
        result.append(f"{{{match.group(1)}}}")
        position = index
    result.append(pattern[position:])
    return "".join(result)


def template_from_django_route(route: str) -> str:
    """A resolver route — ``path()`` or ``re_path()`` (DRF routers) — as ``/a/{b}`` template."""
    template = _replace_named_groups(route)
    template = template.replace("^", "").replace("\\Z", "").replace("$", "").replace("\\.", ".")
    return template_from_angle_route(template)


def _route_of(request: HttpRequest) -> str:
    match = request.resolver_match
    if match is None or not match.route:
        return UNMATCHED_ROUTE if match is None else "/"
    return template_from_django_route(match.route)


def _claims_of(request: HttpRequest) -> object:
    """Verified claims: DRF's ``request.auth`` (DRF copies it onto the Django request), else a
    ``claims`` attribute of an already-resolved user. A lazy ``request.user`` is left alone:
    resolving it just to write a log line would cost a session query."""
    claims = getattr(request, "auth", None)
    if claims is not None:
        return claims
    user = vars(request).get("user")
    if user is None or isinstance(user, LazyObject):
        return None
    return getattr(user, "claims", None)


# --- middleware -------------------------------------------------------------------------------


class ObservabilityMiddleware:
    """Request id, log context, one access line, metrics, and problem+json for view failures.

    Put it first in ``MIDDLEWARE`` so it times and ids everything else. The service name comes
    from ``settings.ROADBED_SERVICE``; metrics go to that service's process-wide registry.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: SyncGetResponse | AsyncGetResponse) -> None:
        service = getattr(settings, SERVICE_SETTING, None)
        if not isinstance(service, str) or not service:
            raise ImproperlyConfigured(f"set settings.{SERVICE_SETTING} to the service name")
        self.service = service
        self.metrics = service_metrics(service)
        self.get_response = get_response
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self._is_async:
            return self._acall(request)
        started, request_id = time.perf_counter(), self._request_id(request)
        restore_log_context = bind_request(request_id=request_id, service=self.service)
        try:
            response = cast(SyncGetResponse, self.get_response)(request)
            self._finish(request, response, request_id=request_id, started=started)
            return response
        finally:
            restore_log_context()

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        started, request_id = time.perf_counter(), self._request_id(request)
        restore_log_context = bind_request(request_id=request_id, service=self.service)
        try:
            response = await cast(AsyncGetResponse, self.get_response)(request)
            self._finish(request, response, request_id=request_id, started=started)
            return response
        finally:
            restore_log_context()

    @staticmethod
    def _request_id(request: HttpRequest) -> str:
        return resolve_request_id(request.headers.get(REQUEST_ID_HEADER))

    def _finish(
        self, request: HttpRequest, response: HttpResponseBase, *, request_id: str, started: float
    ) -> None:
        response[REQUEST_ID_HEADER] = request_id
        # Our access line replaces django.request's "Not Found: /x" warnings for 4xx responses.
        response._has_been_logged = True  # type: ignore[attr-defined]
        record_request(
            self.metrics,
            method=request.method or "GET",
            route=_route_of(request),
            path=request.path,
            status=response.status_code,
            duration_seconds=time.perf_counter() - started,
            request_id=request_id,
            user_id=resolve_user_id(_claims_of(request)),
        )

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Render what a view raised and nothing else handled.

        Django's own ``Http404``/``PermissionDenied``/``BadRequest`` are left to the ``handler*``
        views so they render the same whether raised by a view or by URL resolution.
        """
        if isinstance(exception, ProblemError):
            return problem_response(
                exception.to_problem(), status=exception.status, headers=exception.headers
            )
        if isinstance(exception, Http404 | DjangoPermissionDenied):
            return None
        log_unhandled_exception(exception, method=request.method or "GET", path=request.path)
        return problem_response(internal_error_problem(), status=500)


# --- DRF --------------------------------------------------------------------------------------


def _drf_headers(exc: drf_exceptions.APIException) -> dict[str, str]:
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = str(auth_header)
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait))
    return headers


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> HttpResponse | None:
    """DRF ``EXCEPTION_HANDLER``: problem+json for ProblemError, DRF and Django HTTP errors.

    Returns a plain Django response rather than a DRF ``Response``: DRF would re-render the latter
    with whatever renderer content negotiation picked (HTML for a browser), and a problem body
    must stay JSON. Anything else returns ``None`` so DRF re-raises it to the middleware, which
    logs it and answers a bare 500.
    """
    if isinstance(exc, ProblemError):
        set_rollback()
        return problem_response(exc.to_problem(), status=exc.status, headers=exc.headers)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, drf_exceptions.ValidationError):
        set_rollback()
        return problem_response(
            validation_problem(field_errors_from_messages(exc.detail)), status=422
        )
    if isinstance(exc, drf_exceptions.APIException):
        set_rollback()
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(
            http_problem(exc.status_code, detail=detail),
            status=exc.status_code,
            headers=_drf_headers(exc),
        )
    return None


# --- handler views (URLconf handler400/403/404/500) ---------------------------------------------


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler400``: a problem body, not Django's HTML page."""
    return problem_response(http_problem(400), status=400)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler403``: a problem body, not Django's HTML page."""
    return problem_response(http_problem(403), status=403)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: a problem body; the exception (resolver internals) is not echoed."""
    return problem_response(http_problem(404), status=404)


def handler500(request: HttpRequest) -> HttpResponse:
    """``handler500``: the bare 500 problem (Django has already logged the traceback)."""
    return problem_response(internal_error_problem(), status=500)


# --- health and metrics -----------------------------------------------------------------------


def observability_urls(
    *, health: HealthRegistry, metrics: HttpMetrics | None = None
) -> list[URLPattern]:
    """``healthz``, ``readyz`` and ``metrics`` URL patterns for the service's root URLconf.

    Plain Django views (not DRF), so schema generators leave them out of the OpenAPI document.
    ``metrics`` defaults to the registry the middleware records into.
    """
    exposed = metrics if metrics is not None else service_metrics(health.service)

    @never_cache
    @require_safe
    def healthz(request: HttpRequest) -> HttpResponse:
        return HttpResponse(json.dumps(health.liveness()), content_type="application/json")

    @never_cache
    @require_safe
    def readyz(request: HttpRequest) -> HttpResponse:
        report = health.check_ready_sync()
        return HttpResponse(
            json.dumps(report.as_dict()), status=report.status_code, content_type="application/json"
        )

    @never_cache
    @require_safe
    def metrics_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(exposed.render(), content_type=METRICS_CONTENT_TYPE)

    return [
        path(HEALTHZ_PATH.lstrip("/"), healthz, name="roadbed-healthz"),
        path(READYZ_PATH.lstrip("/"), readyz, name="roadbed-readyz"),
        path(METRICS_PATH.lstrip("/"), metrics_view, name="roadbed-metrics"),
    ]


def django_db_check(alias: str = "default") -> SyncCheck:
    """``SELECT 1`` on a Django database connection.

    Readiness checks run in worker threads and Django connections are per thread, so the check
    closes the connection it opened instead of leaving one behind in every pool thread.
    """

    def check() -> None:
        connection = connections[alias]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            if not connection.in_atomic_block:
                connection.close()

    return check
