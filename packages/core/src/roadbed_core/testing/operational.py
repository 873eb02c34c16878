"""The operational contract every service keeps (DESIGN.md §3), as one reusable check.

Works with the FastAPI/Starlette, Flask and Django test clients: each returns a response with a
status code, headers and a JSON body, spelled slightly differently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _json(response: Any) -> Any:
    getter = getattr(response, "get_json", None)  # Flask/Werkzeug
    return getter() if callable(getter) else response.json()


def _content_type(response: Any) -> str:
    headers = getattr(response, "headers", None)
    value = headers.get("content-type") if headers is not None else None
    return str(value or response["Content-Type"]).split(";")[0]


def check_operational_endpoints(
    get: Callable[[str], Any], *, service: str, title: str, readiness_checks: set[str]
) -> None:
    """Assert /healthz, /readyz, /metrics, /openapi.json, /docs and the problem+json 404."""
    healthz = get("/healthz")
    assert healthz.status_code == 200
    assert _json(healthz) == {"status": "ok", "service": service}

    readyz = get("/readyz")
    assert readyz.status_code == 200, _json(readyz)
    ready = _json(readyz)
    assert ready["status"] == "ok"
    assert set(ready["checks"]) == readiness_checks
    assert {check["status"] for check in ready["checks"].values()} == {"ok"}

    metrics = get("/metrics")
    assert metrics.status_code == 200
    assert _content_type(metrics) == "text/plain"
    assert b"http_requests_total" in (getattr(metrics, "content", None) or metrics.data)

    openapi = get("/openapi.json")
    assert openapi.status_code == 200
    assert _json(openapi)["info"]["title"] == title
    assert get("/docs").status_code == 200

    missing = get("/no-such-thing")
    assert missing.status_code == 404
    assert _content_type(missing) == "application/problem+json"
    assert _json(missing)["code"] == "not_found"
