"""Framework integrations: request ids, access logs, metrics, health routes and problem rendering.

Each framework gets one entry point a service calls once:

- FastAPI: :func:`roadbed_core.integrations.fastapi.install`
- Flask / APIFlask: :func:`roadbed_core.integrations.flask.install`
- Django / DRF: :class:`roadbed_core.integrations.django.ObservabilityMiddleware`,
  :func:`roadbed_core.integrations.django.observability_urls`,
  :func:`roadbed_core.integrations.django.problem_exception_handler` and the ``handler*`` views.

This module holds what they share and must not import any framework: a FastAPI service should
not pay for importing Django, nor the other way round.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

from roadbed_core.errors import FieldError, problem_body
from roadbed_core.logs import current_user_id, get_logger
from roadbed_core.metrics import HttpMetrics

REQUEST_ID_HEADER: Final = "X-Request-ID"
MAX_REQUEST_ID_LENGTH: Final = 128
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

#: Paths every service serves for operations (relative to its prefix).
HEALTHZ_PATH: Final = "/healthz"
READYZ_PATH: Final = "/readyz"
METRICS_PATH: Final = "/metrics"
_OPERATIONS_ROUTES: Final = frozenset({HEALTHZ_PATH, READYZ_PATH, METRICS_PATH})

#: Stable ``code`` values for framework-level HTTP errors; the same ones the core exceptions use,
#: so a client sees ``not_found`` whether a route or a row was missing.
_STATUS_CODES: Final = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}

access_logger = get_logger("roadbed.access")
error_logger = get_logger("roadbed.errors")


# --- request ids ------------------------------------------------------------------------------


def new_request_id() -> str:
    return uuid.uuid4().hex


def resolve_request_id(incoming: str | None) -> str:
    """Keep a caller's ``X-Request-ID`` when it is sane, otherwise mint one.

    Sane means 1-128 characters of ``[A-Za-z0-9._-]``: anything else could smuggle newlines or
    markup into logs and response headers, or be used to bloat them.
    """
    if incoming is not None and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return new_request_id()


# --- the user behind a request ----------------------------------------------------------------


def user_id_from_claims(claims: object) -> str | None:
    """The subject of verified token claims: a mapping's ``sub`` or an object's ``sub``/``subject``.

    Tolerant on purpose: it must work with whatever the verifier adapters put on the request and
    must never fail a request because of logging.
    """
    if claims is None:
        return None
    if isinstance(claims, Mapping):
        subject = claims.get("sub")
    else:
        subject = getattr(claims, "sub", None) or getattr(claims, "subject", None)
    return str(subject) if subject not in (None, "") else None


def resolve_user_id(claims: object) -> str | None:
    """From the claims on the request, else whatever a verifier bound to the log context."""
    return user_id_from_claims(claims) or current_user_id()


# --- route templates --------------------------------------------------------------------------

_ANGLE_PARAMETER = re.compile(r"<(?:[^<>:]+:)?([A-Za-z_][A-Za-z0-9_]*)>")


def template_from_angle_route(rule: str) -> str:
    """``/v1/tasks/<int:task_id>`` (Flask, Django ``path()``) → ``/v1/tasks/{task_id}``.

    Every service labels metrics with the same template syntax, whatever its framework.
    """
    template = _ANGLE_PARAMETER.sub(r"{\1}", rule)
    return template if template.startswith("/") else f"/{template}"


# --- problem bodies for framework errors ------------------------------------------------------


def status_title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP Error"


def status_code_name(status: int) -> str:
    """The problem ``code`` for a bare HTTP status, e.g. 405 → ``method_not_allowed``."""
    known = _STATUS_CODES.get(status)
    if known is not None:
        return known
    try:
        return re.sub(r"[^a-z0-9]+", "_", HTTPStatus(status).phrase.lower()).strip("_")
    except ValueError:
        return "http_error"


def http_problem(status: int, *, detail: str | None = None) -> dict[str, Any]:
    """A problem body for an HTTP error raised by a framework (404, 405, 415, ...).

    Frameworks default the message to the status phrase; repeating it as ``detail`` adds nothing.
    """
    title = status_title(status)
    return problem_body(
        status=status,
        code=status_code_name(status),
        title=title,
        detail=detail if detail and detail != title else None,
    )


def validation_problem(
    errors: Sequence[FieldError], *, detail: str | None = None, status: int = 422
) -> dict[str, Any]:
    """The ``errors`` list in the same shape :class:`roadbed_core.errors.ValidationFailed` gives."""
    return problem_body(
        status=status,
        code="validation_failed",
        title=status_title(status) if status != 422 else "Unprocessable Content",
        detail=detail or "The request is invalid.",
        errors=errors,
    )


def internal_error_problem() -> dict[str, Any]:
    """The 500 body: nothing about the failure itself, which is in the log under the request id."""
    return problem_body(status=500, code="internal_error", title="Internal Server Error")


#: Request locations whose name adds nothing to a field path (the payload is the default).
_BODY_LOCATIONS: Final = frozenset({"body", "json", "form", "json_or_form", "files"})


def _field_path(location: str | None, parts: Iterable[object]) -> str:
    path = [str(part) for part in parts if str(part) not in ("", "_schema")]
    if location is not None and (location not in _BODY_LOCATIONS or not path):
        path.insert(0, "body" if location in _BODY_LOCATIONS else location)
    return ".".join(path)


def field_errors_from_pydantic(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    """Pydantic/FastAPI error dicts (``loc``, ``msg``, ``type``) → :class:`FieldError` list.

    The leading location is dropped for the body (``title``) and kept otherwise (``query.limit``).
    """
    result = []
    for error in errors:
        location: tuple[object, ...] = tuple(error.get("loc", ()))
        head = str(location[0]) if location else None
        if head in {"body", "query", "path", "header", "cookie"}:
            field = _field_path(head, location[1:])
        else:
            field = _field_path(None, location)
        result.append(
            FieldError(
                field=field,
                message=str(error.get("msg", "Invalid value.")),
                code=str(error.get("type", "invalid")),
            )
        )
    return result


def field_errors_from_messages(
    messages: object, *, location: str | None = None, prefix: Sequence[str] = ()
) -> list[FieldError]:
    """Nested ``{field: [message, ...]}`` (marshmallow, DRF) → flat :class:`FieldError` list.

    Nested objects and lists become dotted paths (``items.0.name``). Messages that carry a
    ``code`` attribute (DRF's ``ErrorDetail``) keep it; others get ``invalid``.
    """
    if isinstance(messages, Mapping):
        errors: list[FieldError] = []
        for key, value in messages.items():
            errors.extend(
                field_errors_from_messages(value, location=location, prefix=(*prefix, str(key)))
            )
        return errors
    if isinstance(messages, list | tuple):
        if all(isinstance(item, str) for item in messages):
            field = _field_path(location, prefix)
            return [
                FieldError(field, str(item), str(getattr(item, "code", "invalid")))
                for item in messages
            ]
        errors = []
        for index, item in enumerate(messages):
            errors.extend(
                field_errors_from_messages(item, location=location, prefix=(*prefix, str(index)))
            )
        return errors
    return [
        FieldError(
            _field_path(location, prefix), str(messages), str(getattr(messages, "code", "invalid"))
        )
    ]


# --- the access line and the metrics of one request -------------------------------------------


def record_request(
    metrics: HttpMetrics,
    *,
    method: str,
    route: str,
    path: str,
    status: int,
    duration_seconds: float,
    request_id: str,
    user_id: str | None,
) -> None:
    """Count the request and write its one access line.

    Probe and scrape endpoints log at DEBUG: Kubernetes and Prometheus call them every few
    seconds, and at INFO they would drown the lines people read.
    """
    metrics.observe(method=method, route=route, status=status, duration_seconds=duration_seconds)
    fields: dict[str, Any] = {
        "method": method,
        "route": route,
        "path": path,
        "status": status,
        "duration_ms": round(duration_seconds * 1000, 3),
        "request_id": request_id,
        "service": metrics.service,
    }
    if user_id is not None:
        fields["user_id"] = user_id
    if route in _OPERATIONS_ROUTES:
        access_logger.debug("request", **fields)
    elif status >= 500:
        access_logger.warning("request", **fields)
    else:
        access_logger.info("request", **fields)


def log_unhandled_exception(exc: BaseException, *, method: str, path: str) -> None:
    """One error line with the traceback; the client only gets a bare 500 problem."""
    error_logger.error("unhandled_exception", method=method, path=path, exc_info=exc)
