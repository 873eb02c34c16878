"""FastAPI wiring: one :func:`install` call per service.

Usage, in the service's app factory::

    health = HealthRegistry("shop")
    health.add("db", sqlalchemy_async_check(engine))
    install(app, service="shop", health=health)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from roadbed_core.errors import PROBLEM_CONTENT_TYPE, ProblemError
from roadbed_core.health import HealthRegistry
from roadbed_core.integrations import (
    HEALTHZ_PATH,
    METRICS_PATH,
    READYZ_PATH,
    field_errors_from_pydantic,
    http_problem,
    internal_error_problem,
    log_unhandled_exception,
    validation_problem,
)
from roadbed_core.integrations.asgi import ObservabilityMiddleware
from roadbed_core.metrics import METRICS_CONTENT_TYPE, HttpMetrics, service_metrics


def problem_response(
    body: dict[str, Any], *, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An ``application/problem+json`` response."""
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


def problem_for_exception(request: Request, exc: Exception) -> JSONResponse:
    """Render any exception FastAPI hands to a handler as problem+json.

    One function registered for every exception class: FastAPI picks the handler by class, this
    picks the rendering — and needs no narrowing casts to satisfy the handler signature.
    """
    if isinstance(exc, ProblemError):
        return problem_response(exc.to_problem(), status=exc.status, headers=exc.headers)
    if isinstance(exc, RequestValidationError):
        errors = field_errors_from_pydantic(exc.errors())
        return problem_response(validation_problem(errors), status=422)
    if isinstance(exc, StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(
            http_problem(exc.status_code, detail=detail),
            status=exc.status_code,
            headers=dict(exc.headers) if exc.headers else None,
        )
    # Reached only for failures outside our middleware (a middleware added after install());
    # the middleware itself answers every failure of the app it wraps.
    log_unhandled_exception(exc, method=request.method, path=request.url.path)
    return problem_response(internal_error_problem(), status=500)


async def _exception_handler(request: Request, exc: Exception) -> Response:
    return problem_for_exception(request, exc)


def _add_operations_routes(app: FastAPI, *, health: HealthRegistry, metrics: HttpMetrics) -> None:
    async def healthz() -> JSONResponse:
        """Liveness: the process is up. No I/O."""
        return JSONResponse(health.liveness())

    async def readyz() -> JSONResponse:
        """Readiness: every registered dependency check passed."""
        report = await health.check_ready()
        return JSONResponse(report.as_dict(), status_code=report.status_code)

    async def metrics_endpoint() -> Response:
        """Prometheus text exposition of this service's registry."""
        return Response(metrics.render(), media_type=METRICS_CONTENT_TYPE)

    app.add_api_route(HEALTHZ_PATH, healthz, methods=["GET"], include_in_schema=False)
    app.add_api_route(READYZ_PATH, readyz, methods=["GET"], include_in_schema=False)
    app.add_api_route(METRICS_PATH, metrics_endpoint, methods=["GET"], include_in_schema=False)


def install(
    app: FastAPI,
    *,
    service: str,
    health: HealthRegistry,
    metrics: HttpMetrics | None = None,
) -> HttpMetrics:
    """Add the observability middleware, problem+json handlers and ``/healthz``, ``/readyz``,
    ``/metrics`` (hidden from the OpenAPI schema) to ``app``; return the metrics it records into.

    ``metrics`` defaults to the process-wide :func:`~roadbed_core.metrics.service_metrics` of
    ``service``. Call it after adding the service's own middleware so ours is the outermost and
    times and ids everything.
    """
    metrics = metrics if metrics is not None else service_metrics(service)
    for exception_class in (
        ProblemError,
        RequestValidationError,
        StarletteHTTPException,
        Exception,
    ):
        app.add_exception_handler(exception_class, _exception_handler)
    app.add_middleware(ObservabilityMiddleware, service=service, metrics=metrics)
    _add_operations_routes(app, health=health, metrics=metrics)
    return metrics
