"""Flask (and APIFlask) wiring: one :func:`install` call per service.

Usage, in ``create_app``::

    health = HealthRegistry("tasks")
    health.add("db", sqlalchemy_check(db.engine))
    install(app, service="tasks", health=health)

Request hooks rather than WSGI middleware: they run inside Flask's request context, where the
matched ``url_rule`` (the route template) and ``g.claims`` (set by the token verifier) are known.
APIFlask is supported without importing it: its ``error_processor`` hook is used when present, so
its validation errors and ``abort()`` calls come out as problem+json too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Blueprint, Flask, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from roadbed_core.errors import PROBLEM_CONTENT_TYPE, FieldError, ProblemError, problem_body
from roadbed_core.health import HealthRegistry
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
    status_code_name,
    status_title,
    template_from_angle_route,
    validation_problem,
)
from roadbed_core.logs import bind_request
from roadbed_core.metrics import METRICS_CONTENT_TYPE, UNMATCHED_ROUTE, HttpMetrics, service_metrics

_STATE_KEY = "_roadbed_request"


@dataclass(slots=True)
class _RequestState:
    request_id: str
    started: float
    restore_log_context: Callable[[], None]
    finished: bool = False


def problem_response(
    body: Mapping[str, Any], *, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    """An ``application/problem+json`` response."""
    return Response(
        json.dumps(body),
        status=status,
        headers=dict(headers or {}),
        content_type=PROBLEM_CONTENT_TYPE,
    )


# --- error handlers ---------------------------------------------------------------------------


def _render_problem_error(exc: ProblemError) -> Response:
    return problem_response(exc.to_problem(), status=exc.status, headers=exc.headers)


def _render_http_exception(exc: HTTPException) -> Response | HTTPException:
    if exc.code is None:  # not an error (e.g. a redirect raised as an exception): pass it on
        return exc
    # Werkzeug's class descriptions are generic prose; only a custom one (abort(404, "...")) says
    # something the status does not.
    custom = exc.description if exc.description != type(exc).description else None
    headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
    return problem_response(http_problem(exc.code, detail=custom), status=exc.code, headers=headers)


def _render_unhandled(exc: Exception) -> Response:
    log_unhandled_exception(exc, method=request.method, path=request.path)
    return problem_response(internal_error_problem(), status=500)


class _APIFlaskHTTPError(Protocol):
    """The attributes of ``apiflask.exceptions.HTTPError`` we read (duck-typed, see module doc)."""

    status_code: int
    message: str
    detail: Any
    headers: Mapping[str, str]
    extra_data: Mapping[str, Any]


def _apiflask_error_processor(app: Flask) -> Callable[[_APIFlaskHTTPError], Response]:
    validation_status = int(app.config.get("VALIDATION_ERROR_STATUS_CODE", 422))

    def render(error: _APIFlaskHTTPError) -> Response:
        status = int(error.status_code)
        headers = {k: v for k, v in (error.headers or {}).items() if k.lower() != "content-type"}
        if status == validation_status and isinstance(error.detail, Mapping) and error.detail:
            # APIFlask nests messages by location: {"json": {"title": ["..."]}, "query": {...}}.
            errors: list[FieldError] = []
            for location, messages in error.detail.items():
                errors.extend(field_errors_from_messages(messages, location=str(location)))
            body = validation_problem(errors, status=status)
        else:
            body = problem_body(
                status=status,
                code=status_code_name(status),
                title=status_title(status),
                detail=error.message if error.message != status_title(status) else None,
                extra=dict(error.extra_data or {}),
            )
        return problem_response(body, status=status, headers=headers)

    return render


# --- request hooks ----------------------------------------------------------------------------


def _route_template(app: Flask) -> str:
    """The matched rule as a template; for a 405 the rule the path matched under another method."""
    rule = request.url_rule
    if rule is not None:
        return template_from_angle_route(rule.rule)
    routing_exception = request.routing_exception
    if not isinstance(routing_exception, MethodNotAllowed):
        return UNMATCHED_ROUTE
    allowed = next(iter(routing_exception.valid_methods or ()), None)
    adapter = app.create_url_adapter(request)
    if allowed is None or adapter is None:
        return UNMATCHED_ROUTE
    try:
        matched, _ = adapter.match(method=allowed, return_rule=True)
    except HTTPException:
        return UNMATCHED_ROUTE
    return template_from_angle_route(matched.rule)


def _install_hooks(app: Flask, *, service: str, metrics: HttpMetrics) -> None:
    def start_request() -> None:
        request_id = resolve_request_id(request.headers.get(REQUEST_ID_HEADER))
        g.request_id = request_id
        setattr(
            g,
            _STATE_KEY,
            _RequestState(
                request_id=request_id,
                started=time.perf_counter(),
                restore_log_context=bind_request(request_id=request_id, service=service),
            ),
        )

    def finish_request(response: Response) -> Response:
        state: _RequestState | None = g.get(_STATE_KEY)
        if state is None:
            return response
        response.headers[REQUEST_ID_HEADER] = state.request_id
        record_request(
            metrics,
            method=request.method,
            route=_route_template(app),
            path=request.script_root + request.path,
            status=response.status_code,
            duration_seconds=time.perf_counter() - state.started,
            request_id=state.request_id,
            user_id=resolve_user_id(g.get("claims")),
        )
        return response

    def end_request(_exc: BaseException | None) -> None:
        state: _RequestState | None = g.get(_STATE_KEY)
        if state is not None and not state.finished:
            state.finished = True
            state.restore_log_context()

    # First before_request so everything after it logs with the id; first after_request
    # because Flask runs them in reverse, so ours sees the final response.
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)
    app.after_request_funcs.setdefault(None, []).insert(0, finish_request)
    app.teardown_request(end_request)


def _operations_blueprint(*, health: HealthRegistry, metrics: HttpMetrics) -> Blueprint:
    # A plain Blueprint: APIFlask leaves blueprints without ``enable_openapi`` out of its spec.
    blueprint = Blueprint("roadbed_operations", __name__)

    @blueprint.get(HEALTHZ_PATH)
    def healthz() -> Response:
        """Liveness: the process is up. No I/O."""
        return Response(json.dumps(health.liveness()), content_type="application/json")

    @blueprint.get(READYZ_PATH)
    def readyz() -> Response:
        """Readiness: every registered dependency check passed."""
        report = health.check_ready_sync()
        return Response(
            json.dumps(report.as_dict()), status=report.status_code, content_type="application/json"
        )

    @blueprint.get(METRICS_PATH)
    def metrics_endpoint() -> Response:
        """Prometheus text exposition of this service's registry."""
        return Response(metrics.render(), content_type=METRICS_CONTENT_TYPE)

    return blueprint


def install(
    app: Flask,
    *,
    service: str,
    health: HealthRegistry,
    metrics: HttpMetrics | None = None,
) -> HttpMetrics:
    """Add request ids, access lines, metrics, problem+json error handlers and ``/healthz``,
    ``/readyz``, ``/metrics`` to ``app``; return the metrics it records into.

    ``metrics`` defaults to the process-wide :func:`~roadbed_core.metrics.service_metrics` of
    ``service``. With APIFlask, call it after constructing the app (it replaces APIFlask's
    error processor).
    """
    metrics = metrics if metrics is not None else service_metrics(service)
    _install_hooks(app, service=service, metrics=metrics)
    app.register_error_handler(ProblemError, _render_problem_error)
    app.register_error_handler(HTTPException, _render_http_exception)
    app.register_error_handler(Exception, _render_unhandled)
    error_processor = getattr(app, "error_processor", None)
    if callable(error_processor):
        error_processor(_apiflask_error_processor(app))
    app.register_blueprint(_operations_blueprint(health=health, metrics=metrics))
    return metrics
