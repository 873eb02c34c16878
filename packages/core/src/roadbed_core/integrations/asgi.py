"""Pure ASGI middleware: request id, log context, access line, metrics, last-resort 500.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``: it adds no task or memory stream per
request, leaves streaming responses alone, and runs in the request's own context so the
contextvars it binds are seen by every log call the endpoint makes.

Route templates are read from the scope after routing, relative to the ``root_path`` the service
was entered with, so a service mounted at ``/shop`` in the embedded composition reports
``/v1/products/{product_id}`` exactly as it does standing alone.
"""

from __future__ import annotations

import json
import time
from typing import Any, Final

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roadbed_core.errors import PROBLEM_CONTENT_TYPE
from roadbed_core.integrations import (
    REQUEST_ID_HEADER,
    internal_error_problem,
    log_unhandled_exception,
    record_request,
    resolve_request_id,
    resolve_user_id,
)
from roadbed_core.logs import bind_request
from roadbed_core.metrics import UNMATCHED_ROUTE, HttpMetrics

_REQUEST_ID_HEADER_RAW: Final = REQUEST_ID_HEADER.lower().encode("latin-1")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_HEADER_RAW:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def _path_format(scope: Scope, route: object) -> str | None:
    """The matched route's template.

    FastAPI resolves ``include_router`` lazily and leaves a nested router's route with its own
    relative ``path_format``; the full template lives on the effective route context it stores in
    the scope. Use it when it belongs to the matched route, else the route's own template.
    """
    fastapi_scope = scope.get("fastapi")
    if isinstance(fastapi_scope, dict):
        context = fastapi_scope.get("effective_route_context")
        if context is not None and getattr(context, "original_route", None) is route:
            effective = getattr(context, "path_format", None)
            if isinstance(effective, str):
                return effective
    path_format = getattr(route, "path_format", None)
    return path_format if isinstance(path_format, str) else None


def route_template(scope: Scope, *, entry_root_path: str, entry_route: object) -> str:
    """The template of the route that served ``scope``, relative to the service.

    ``entry_root_path``/``entry_route`` are what the scope held when the request entered the
    service: a route set by an outer router (the composition's ``Mount``) is not ours, and
    ``root_path`` grown beyond the entry value is a mount *inside* the service whose prefix
    belongs in the template.
    """
    route = scope.get("route")
    if route is None or route is entry_route:
        return UNMATCHED_ROUTE
    root_path: str = scope.get("root_path", "")
    mount_prefix = (
        root_path[len(entry_root_path) :] if root_path.startswith(entry_root_path) else ""
    )
    if isinstance(route, Mount):
        return f"{mount_prefix}/{{path}}"
    path_format = _path_format(scope, route)
    if path_format is None:
        return UNMATCHED_ROUTE
    return f"{mount_prefix}{path_format}" or "/"


def _claims(scope: Scope) -> object:
    state = scope.get("state")
    return state.get("claims") if isinstance(state, dict) else None


class _Exchange:
    """What the middleware learns about one request while it is served."""

    __slots__ = ("request_id", "response_started", "status")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.status = 500
        self.response_started = False


class ObservabilityMiddleware:
    """Wraps a service's ASGI app; one instance per service (``service`` labels everything)."""

    def __init__(self, app: ASGIApp, *, service: str, metrics: HttpMetrics) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(resolve_request_id(_incoming_request_id(scope)))
        scope.setdefault("state", {})["request_id"] = exchange.request_id
        entry_root_path: str = scope.get("root_path", "")
        entry_route = scope.get("route")
        started = time.perf_counter()
        restore_log_context = bind_request(request_id=exchange.request_id, service=self.service)
        try:
            await self._serve(scope, receive, send, exchange)
        finally:
            record_request(
                self.metrics,
                method=scope["method"],
                route=route_template(
                    scope, entry_root_path=entry_root_path, entry_route=entry_route
                ),
                path=scope["path"],
                status=exchange.status,
                duration_seconds=time.perf_counter() - started,
                request_id=exchange.request_id,
                user_id=resolve_user_id(_claims(scope)),
            )
            restore_log_context()

    async def _serve(self, scope: Scope, receive: Receive, send: Send, exchange: _Exchange) -> None:
        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.response_started = True
                message = _with_request_id(message, exchange.request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception as exc:
            # Only what escaped every exception handler gets here: a bug. Log it with the request
            # id bound and answer a bare 500 — unless the response already started, in which
            # case the server must abort the connection, so the exception goes on.
            log_unhandled_exception(exc, method=scope["method"], path=scope["path"])
            if exchange.response_started:
                raise
            await _send_problem(send_with_request_id, 500, internal_error_problem())


def _with_request_id(message: Message, request_id: str) -> Message:
    headers = [
        (name, value)
        for name, value in message.get("headers", ())
        if name.lower() != _REQUEST_ID_HEADER_RAW
    ]
    headers.append((_REQUEST_ID_HEADER_RAW, request_id.encode("latin-1")))
    return {**message, "headers": headers}


async def _send_problem(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode("latin-1")),
                (b"content-length", str(len(payload)).encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
