"""Serving a service under its public prefix (``/auth``, ``/blog``, ...) when it runs alone.

Behind nginx the public path keeps its prefix, exactly as in the embedded composition. These
wrappers move the prefix from the path to ``root_path`` (ASGI) or ``SCRIPT_NAME`` (WSGI) and
answer 404 for anything outside it — unlike a blind strip, ``/other/healthz`` never reaches
``/healthz``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from roadbed_core.errors import PROBLEM_CONTENT_TYPE, problem_body

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_NOT_FOUND = json.dumps(problem_body(status=404, code="not_found")).encode()


def _normalise(prefix: str) -> str:
    if not prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        raise ValueError(f"prefix must look like /name, got {prefix!r}")
    return prefix


def _split(path: str, prefix: str) -> str | None:
    """The path below ``prefix``, or None when ``path`` is not under it."""
    if path == prefix:
        return "/"
    if path.startswith(prefix + "/"):
        return path[len(prefix) :]
    return None


class PrefixedASGI:
    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = _normalise(prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        inner = _split(scope["path"], self.prefix)
        if inner is None:
            if scope["type"] == "http":
                await send(
                    {
                        "type": "http.response.start",
                        "status": 404,
                        "headers": [(b"content-type", PROBLEM_CONTENT_TYPE.encode())],
                    }
                )
                await send({"type": "http.response.body", "body": _NOT_FOUND})
            return
        # Starlette routes on path minus root_path, so the full path stays in ``path``.
        await self.app(
            {**scope, "root_path": scope.get("root_path", "") + self.prefix}, receive, send
        )


class PrefixedWSGI:
    def __init__(self, app: WSGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = _normalise(prefix)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        inner = _split(environ.get("PATH_INFO", ""), self.prefix)
        if inner is None:
            start_response("404 Not Found", [("Content-Type", PROBLEM_CONTENT_TYPE)])
            return [_NOT_FOUND]
        environ = {
            **environ,
            "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + self.prefix,
            "PATH_INFO": inner,
        }
        return self.app(environ, start_response)
