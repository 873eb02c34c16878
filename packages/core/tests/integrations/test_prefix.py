"""Serving under a prefix: inside it the app sees its own paths; outside it, 404."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from roadbed_core.integrations.prefix import PrefixedASGI, PrefixedWSGI


async def where(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path, "root_path": request.scope["root_path"]})


def asgi_client() -> TestClient:
    return TestClient(PrefixedASGI(Starlette(routes=[Route("/healthz", where)]), "/auth"))


def wsgi_client() -> Any:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"path": request.path, "script_root": request.script_root}

    app.wsgi_app = PrefixedWSGI(app.wsgi_app, "/tasks")  # type: ignore[method-assign]
    return app.test_client()


def test_asgi_inside_the_prefix_sees_the_full_path_and_root_path() -> None:
    response = asgi_client().get("/auth/healthz")

    assert response.status_code == 200
    assert response.json() == {"path": "/auth/healthz", "root_path": "/auth"}


@pytest.mark.parametrize("path", ["/other/healthz", "/healthz", "/authx/healthz"])
def test_asgi_outside_the_prefix_is_404(path: str) -> None:
    response = asgi_client().get(path)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_wsgi_inside_the_prefix_moves_it_to_script_name() -> None:
    response = wsgi_client().get("/tasks/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"path": "/healthz", "script_root": "/tasks"}


@pytest.mark.parametrize("path", ["/other/healthz", "/healthz", "/tasksx/healthz"])
def test_wsgi_outside_the_prefix_is_404(path: str) -> None:
    response = wsgi_client().get(path)

    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


@pytest.mark.parametrize("prefix", ["auth", "/auth/", "//auth", ""])
def test_a_malformed_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix must look like /name"):
        PrefixedASGI(Starlette(), prefix)
