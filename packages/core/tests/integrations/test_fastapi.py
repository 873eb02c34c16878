"""FastAPI integration: a tiny app wired with install(), driven over ASGI by httpx."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.routing import Mount

from roadbed_core.errors import Conflict
from roadbed_core.health import HealthRegistry
from roadbed_core.integrations.fastapi import install
from roadbed_core.logs import get_logger
from roadbed_core.metrics import METRICS_CONTENT_TYPE, HttpMetrics

UUID_HEX = re.compile(r"[0-9a-f]{32}")


class TaskCreate(BaseModel):
    title: str = Field(min_length=1)
    priority: int


def build_app(*, health: HealthRegistry, metrics: HttpMetrics) -> FastAPI:
    app = FastAPI()
    tasks = APIRouter(prefix="/tasks")
    logger = get_logger("tests.tasks")

    @tasks.get("/{task_id}")
    async def get_task(task_id: int) -> dict[str, int]:
        logger.info("loading_task", task_id=task_id)
        return {"id": task_id}

    @tasks.post("")
    async def create_task(task: TaskCreate) -> dict[str, str]:
        return {"title": task.title}

    v1 = APIRouter(prefix="/v1")
    v1.include_router(tasks)
    app.include_router(v1)

    @app.get("/conflict")
    async def conflict() -> None:
        raise Conflict("The task is already closed.", headers={"X-Task-State": "closed"})

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    @app.get("/me")
    async def me(request: Request) -> dict[str, str]:
        request.state.claims = {"sub": "user-42"}
        return {"ok": "yes"}

    install(app, service="tasks", health=health, metrics=metrics)
    return app


@pytest.fixture
def health() -> HealthRegistry:
    return HealthRegistry("tasks")


@pytest.fixture
async def client(health: HealthRegistry, metrics: HttpMetrics) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(health=health, metrics=metrics)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


# --- request ids ------------------------------------------------------------------------------


async def test_request_id_is_generated_when_absent(client: httpx.AsyncClient, log_lines) -> None:
    # when
    response = await client.get("/v1/tasks/7")
    # then
    request_id = response.headers["X-Request-ID"]
    assert UUID_HEX.fullmatch(request_id)
    assert [line["request_id"] for line in log_lines.access_lines()] == [request_id]


async def test_sane_request_id_is_accepted_and_echoed(client: httpx.AsyncClient, log_lines) -> None:
    # given
    incoming = "edge-01.req_9f8e7d"
    # when
    response = await client.get("/v1/tasks/7", headers={"X-Request-ID": incoming})
    # then
    assert response.headers["X-Request-ID"] == incoming
    assert [line["request_id"] for line in log_lines.access_lines()] == [incoming]


@pytest.mark.parametrize(
    "incoming", ["has spaces", "semi;colon", "x" * 129, "", "<script>"], ids=repr
)
async def test_insane_request_id_is_replaced(client: httpx.AsyncClient, incoming: str) -> None:
    # when
    response = await client.get("/v1/tasks/7", headers={"X-Request-ID": incoming})
    # then
    assert UUID_HEX.fullmatch(response.headers["X-Request-ID"])


async def test_request_id_of_128_chars_is_accepted(client: httpx.AsyncClient) -> None:
    incoming = "a" * 128
    response = await client.get("/v1/tasks/7", headers={"X-Request-ID": incoming})
    assert response.headers["X-Request-ID"] == incoming


# --- logs -------------------------------------------------------------------------------------


async def test_one_access_line_per_request_with_route_template(
    client: httpx.AsyncClient, log_lines
) -> None:
    # when
    response = await client.get("/v1/tasks/7", headers={"X-Request-ID": "req-1"})
    # then
    assert response.status_code == 200
    assert log_lines.access_lines() == [
        {
            "event": "request",
            "level": "info",
            "logger": "roadbed.access",
            "method": "GET",
            "route": "/v1/tasks/{task_id}",
            "path": "/v1/tasks/7",
            "status": 200,
            "request_id": "req-1",
            "service": "tasks",
        }
    ]
    [duration] = log_lines.durations_ms()
    assert isinstance(duration, float)


async def test_lines_logged_inside_the_endpoint_carry_the_request_context(
    client: httpx.AsyncClient, log_lines
) -> None:
    await client.get("/v1/tasks/7", headers={"X-Request-ID": "req-2"})
    [line] = log_lines.events("loading_task")
    assert (line["request_id"], line["service"], line["task_id"]) == ("req-2", "tasks", 7)


async def test_access_line_names_the_user_from_request_state_claims(
    client: httpx.AsyncClient, log_lines
) -> None:
    await client.get("/me")
    [line] = log_lines.access_lines()
    assert (line["route"], line["user_id"]) == ("/me", "user-42")


async def test_request_context_is_gone_after_the_request(
    client: httpx.AsyncClient, log_lines
) -> None:
    # given a request has been served in this task
    await client.get("/v1/tasks/7")
    # when something logs afterwards
    get_logger("tests").info("after")
    # then it is not attributed to the finished request
    [line] = log_lines.events("after")
    assert "request_id" not in line
    assert "service" not in line


# --- metrics ----------------------------------------------------------------------------------


async def test_metrics_count_by_route_template_and_status(
    client: httpx.AsyncClient, metrics: HttpMetrics
) -> None:
    # when
    await client.get("/v1/tasks/1")
    await client.get("/v1/tasks/2")
    await client.get("/v1/tasks/not-a-number")
    await client.get("/no/such/path")
    # then
    registry = metrics.registry

    def requests(route: str, status: str) -> float | None:
        labels = {"service": "tasks", "method": "GET", "route": route, "status": status}
        return registry.get_sample_value("http_requests_total", labels)

    assert requests("/v1/tasks/{task_id}", "200") == 2.0
    assert requests("/v1/tasks/{task_id}", "422") == 1.0
    assert requests("<unmatched>", "404") == 1.0
    assert requests("/v1/tasks/1", "200") is None
    histogram_count = registry.get_sample_value(
        "http_request_duration_seconds_count",
        {"service": "tasks", "method": "GET", "route": "/v1/tasks/{task_id}"},
    )
    assert histogram_count == 3.0


async def test_unknown_methods_fold_into_other(
    client: httpx.AsyncClient, metrics: HttpMetrics
) -> None:
    await client.request("BREW", "/v1/tasks/1")
    labels = {
        "service": "tasks",
        "method": "OTHER",
        "route": "/v1/tasks/{task_id}",
        "status": "405",
    }
    assert metrics.registry.get_sample_value("http_requests_total", labels) == 1.0


async def test_metrics_endpoint_exposes_text_format(client: httpx.AsyncClient) -> None:
    # given
    await client.get("/v1/tasks/1")
    # when
    response = await client.get("/metrics")
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == METRICS_CONTENT_TYPE
    assert (
        'http_requests_total{method="GET",route="/v1/tasks/{task_id}",service="tasks",status="200"} 1.0'
        in response.text.splitlines()
    )


# --- health -----------------------------------------------------------------------------------


async def test_healthz_is_always_ok(client: httpx.AsyncClient, health: HealthRegistry) -> None:
    # given a dependency that is down: liveness must not care
    health.add("db", _failing_check)
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "service": "tasks"})


async def test_readyz_reports_every_check(
    client: httpx.AsyncClient, health: HealthRegistry
) -> None:
    # given
    health.add("db", _ok_async_check)
    health.add("cache", lambda: None)
    # when
    response = await client.get("/readyz")
    # then
    assert response.status_code == 200
    body = response.json()
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "db": "ok",
        "cache": "ok",
    }
    assert (body["status"], body["service"]) == ("ok", "tasks")
    assert all(isinstance(check["duration_ms"], float) for check in body["checks"].values())


async def test_readyz_is_503_when_a_check_fails(
    client: httpx.AsyncClient, health: HealthRegistry
) -> None:
    # given
    health.add("db", _ok_async_check)
    health.add("broker", _failing_check)
    # when
    response = await client.get("/readyz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["db"]["status"] == "ok"
    assert {k: v for k, v in body["checks"]["broker"].items() if k != "duration_ms"} == {
        "status": "error",
        "error": "ConnectionRefusedError: [Errno 111] Connection refused",
    }


async def test_readyz_is_503_when_a_check_times_out(
    client: httpx.AsyncClient, health: HealthRegistry
) -> None:
    # given
    async def hangs() -> None:
        await asyncio.sleep(60)

    health.add("db", hangs, timeout=0.05)
    # when
    response = await client.get("/readyz")
    # then
    assert response.status_code == 503
    assert response.json()["checks"]["db"]["error"] == "timed out after 0.05s"


async def test_operations_routes_are_not_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert sorted(paths) == ["/boom", "/conflict", "/me", "/v1/tasks", "/v1/tasks/{task_id}"]


# --- problem details --------------------------------------------------------------------------


async def test_problem_error_renders_its_status_body_and_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/conflict")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["X-Task-State"] == "closed"
    assert response.json() == {
        "type": "urn:roadbed:problem:conflict",
        "title": "Conflict",
        "status": 409,
        "code": "conflict",
        "detail": "The task is already closed.",
    }


async def test_validation_error_is_422_with_field_errors(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/tasks", json={"title": "", "priority": "high"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:roadbed:problem:validation_failed",
        "title": "Unprocessable Content",
        "status": 422,
        "code": "validation_failed",
        "detail": "The request is invalid.",
        "errors": [
            {
                "field": "title",
                "message": "String should have at least 1 character",
                "code": "string_too_short",
            },
            {
                "field": "priority",
                "message": "Input should be a valid integer, unable to parse string as an integer",
                "code": "int_parsing",
            },
        ],
    }


async def test_invalid_path_parameter_names_its_location(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/tasks/abc")
    assert [error["field"] for error in response.json()["errors"]] == ["path.task_id"]


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/path")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:roadbed:problem:not_found",
        "title": "Not Found",
        "status": 404,
        "code": "not_found",
    }


async def test_wrong_method_is_a_405_problem_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/tasks/1")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.json() == {
        "type": "urn:roadbed:problem:method_not_allowed",
        "title": "Method Not Allowed",
        "status": 405,
        "code": "method_not_allowed",
    }


async def test_unhandled_exception_is_logged_and_a_bare_500(
    client: httpx.AsyncClient, log_lines
) -> None:
    # when
    response = await client.get("/boom", headers={"X-Request-ID": "req-boom"})
    # then the client learns nothing about the failure
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-boom"
    assert response.json() == {
        "type": "urn:roadbed:problem:internal_error",
        "title": "Internal Server Error",
        "status": 500,
        "code": "internal_error",
    }
    assert "hunter2" not in response.text
    # and the log has the traceback under the request id
    [error] = log_lines.events("unhandled_exception")
    assert (error["request_id"], error["level"], error["path"]) == ("req-boom", "error", "/boom")
    assert error["exception"][0]["exc_type"] == "RuntimeError"
    assert error["exception"][0]["exc_value"] == "database password is hunter2"
    [access] = log_lines.access_lines()
    assert (access["status"], access["level"], access["route"]) == (500, "warning", "/boom")


# --- mounted under a prefix (the embedded composition) -----------------------------------------


async def test_mounted_service_reports_templates_relative_to_its_prefix(
    health: HealthRegistry, metrics: HttpMetrics, log_lines
) -> None:
    # given the service mounted at /tasks, as the embedded composition does
    composition = Starlette(routes=[Mount("/tasks", app=build_app(health=health, metrics=metrics))])
    transport = httpx.ASGITransport(app=composition)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # when
        found = await client.get("/tasks/v1/tasks/5")
        missing = await client.get("/tasks/nowhere")
        healthz = await client.get("/tasks/healthz")
    # then
    assert (found.status_code, missing.status_code, healthz.status_code) == (200, 404, 200)
    assert [(line["route"], line["path"]) for line in log_lines.access_lines()] == [
        ("/v1/tasks/{task_id}", "/tasks/v1/tasks/5"),
        ("<unmatched>", "/tasks/nowhere"),
        ("/healthz", "/tasks/healthz"),
    ]
    assert UUID_HEX.fullmatch(found.headers["X-Request-ID"])


async def test_routes_of_a_mounted_sub_application_include_the_mount_prefix(
    health: HealthRegistry, metrics: HttpMetrics, log_lines
) -> None:
    # given a service that mounts a sub-application of its own
    app = FastAPI()
    admin = FastAPI()

    @admin.get("/users/{user_id}")
    async def get_user(user_id: str) -> dict[str, str]:
        return {"id": user_id}

    app.mount("/admin", admin)
    install(app, service="tasks", health=health, metrics=metrics)
    composition = Starlette(routes=[Mount("/tasks", app=app)])
    transport = httpx.ASGITransport(app=composition)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # when
        await client.get("/tasks/admin/users/u1")
    # then
    assert [line["route"] for line in log_lines.access_lines()] == ["/admin/users/{user_id}"]


async def _ok_async_check() -> None:
    await asyncio.sleep(0)


def _failing_check() -> None:
    raise ConnectionRefusedError(111, "Connection refused")
