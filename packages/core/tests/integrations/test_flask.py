"""Flask and APIFlask integration: tiny apps wired with install(), driven by the test client."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from apiflask import APIFlask, Schema, abort
from apiflask.fields import Integer, List, Nested, String
from apiflask.validators import Length
from flask import Flask, g
from flask.testing import FlaskClient

from roadbed_core.errors import Conflict
from roadbed_core.health import HealthRegistry
from roadbed_core.integrations.flask import install
from roadbed_core.logs import get_logger
from roadbed_core.metrics import METRICS_CONTENT_TYPE, HttpMetrics

UUID_HEX = re.compile(r"[0-9a-f]{32}")


def build_flask_app(*, health: HealthRegistry, metrics: HttpMetrics) -> Flask:
    app = Flask(__name__)
    app.testing = True
    logger = get_logger("tests.tasks")

    @app.get("/v1/tasks/<int:task_id>")
    def get_task(task_id: int) -> dict[str, int]:
        logger.info("loading_task", task_id=task_id)
        return {"id": task_id}

    @app.get("/conflict")
    def conflict() -> None:
        raise Conflict("The task is already closed.", headers={"X-Task-State": "closed"})

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("database password is hunter2")

    @app.get("/me")
    def me() -> dict[str, str]:
        g.claims = {"sub": "user-42"}
        return {"ok": "yes"}

    install(app, service="tasks", health=health, metrics=metrics)
    return app


class ItemIn(Schema):
    name = String(required=True)


class TaskIn(Schema):
    title = String(required=True, validate=Length(min=1))
    priority = Integer(required=True)
    items = List(Nested(ItemIn))


class PageQuery(Schema):
    limit = Integer(required=True)


def build_apiflask_app(*, health: HealthRegistry, metrics: HttpMetrics) -> APIFlask:
    app = APIFlask(__name__, title="tasks", version="1")
    app.testing = True

    @app.post("/v1/tasks")
    @app.input(TaskIn)
    def create_task(json_data: dict[str, object]) -> dict[str, object]:
        return {"title": json_data["title"]}

    @app.get("/v1/tasks")
    @app.input(PageQuery, location="query")
    def list_tasks(query_data: dict[str, object]) -> dict[str, object]:
        return {"limit": query_data["limit"]}

    @app.get("/v1/tasks/<int:task_id>")
    def get_task(task_id: int) -> dict[str, int]:
        abort(404, message="No task with that id.")

    install(app, service="tasks", health=health, metrics=metrics)
    return app


@pytest.fixture
def health() -> HealthRegistry:
    return HealthRegistry("tasks")


@pytest.fixture
def client(health: HealthRegistry, metrics: HttpMetrics) -> FlaskClient:
    return build_flask_app(health=health, metrics=metrics).test_client()


@pytest.fixture
def api_client(health: HealthRegistry, metrics: HttpMetrics) -> FlaskClient:
    return build_apiflask_app(health=health, metrics=metrics).test_client()


# --- request ids ------------------------------------------------------------------------------


def test_request_id_is_generated_when_absent(client: FlaskClient, log_lines) -> None:
    response = client.get("/v1/tasks/7")
    request_id = response.headers["X-Request-ID"]
    assert UUID_HEX.fullmatch(request_id)
    assert [line["request_id"] for line in log_lines.access_lines()] == [request_id]


def test_sane_request_id_is_accepted_and_echoed(client: FlaskClient) -> None:
    response = client.get("/v1/tasks/7", headers={"X-Request-ID": "edge-01.req_9f8e7d"})
    assert response.headers["X-Request-ID"] == "edge-01.req_9f8e7d"


@pytest.mark.parametrize("incoming", ["has spaces", "semi;colon", "x" * 129, ""], ids=repr)
def test_insane_request_id_is_replaced(client: FlaskClient, incoming: str) -> None:
    response = client.get("/v1/tasks/7", headers={"X-Request-ID": incoming})
    assert UUID_HEX.fullmatch(response.headers["X-Request-ID"])


def test_request_id_is_on_error_responses_too(client: FlaskClient) -> None:
    response = client.get("/boom", headers={"X-Request-ID": "req-boom"})
    assert response.headers["X-Request-ID"] == "req-boom"


# --- logs -------------------------------------------------------------------------------------


def test_one_access_line_per_request_with_route_template(client: FlaskClient, log_lines) -> None:
    response = client.get("/v1/tasks/7", headers={"X-Request-ID": "req-1"})
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


def test_lines_logged_inside_the_view_carry_the_request_context(
    client: FlaskClient, log_lines
) -> None:
    client.get("/v1/tasks/7", headers={"X-Request-ID": "req-2"})
    [line] = log_lines.events("loading_task")
    assert (line["request_id"], line["service"], line["task_id"]) == ("req-2", "tasks", 7)


def test_access_line_names_the_user_from_g_claims(client: FlaskClient, log_lines) -> None:
    client.get("/me")
    [line] = log_lines.access_lines()
    assert (line["route"], line["user_id"]) == ("/me", "user-42")


def test_request_context_is_gone_after_the_request(client: FlaskClient, log_lines) -> None:
    client.get("/v1/tasks/7")
    get_logger("tests").info("after")
    [line] = log_lines.events("after")
    assert ("request_id" in line, "service" in line) == (False, False)


# --- metrics ----------------------------------------------------------------------------------


def test_metrics_count_by_route_template_and_status(
    client: FlaskClient, metrics: HttpMetrics
) -> None:
    # when
    client.get("/v1/tasks/1")
    client.get("/v1/tasks/2")
    client.get("/no/such/path")
    client.delete("/v1/tasks/3")

    # then
    def requests(method: str, route: str, status: str) -> float | None:
        labels = {"service": "tasks", "method": method, "route": route, "status": status}
        return metrics.registry.get_sample_value("http_requests_total", labels)

    assert requests("GET", "/v1/tasks/{task_id}", "200") == 2.0
    assert requests("GET", "<unmatched>", "404") == 1.0
    assert requests("DELETE", "/v1/tasks/{task_id}", "405") == 1.0
    histogram_count = metrics.registry.get_sample_value(
        "http_request_duration_seconds_count",
        {"service": "tasks", "method": "GET", "route": "/v1/tasks/{task_id}"},
    )
    assert histogram_count == 2.0


def test_metrics_endpoint_exposes_text_format(client: FlaskClient) -> None:
    client.get("/v1/tasks/1")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == METRICS_CONTENT_TYPE
    assert (
        'http_requests_total{method="GET",route="/v1/tasks/{task_id}",service="tasks",status="200"} 1.0'
        in response.get_data(as_text=True).splitlines()
    )


# --- health -----------------------------------------------------------------------------------


def test_healthz_is_always_ok(client: FlaskClient, health: HealthRegistry) -> None:
    health.add("db", _failing_check)
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (
        200,
        {"status": "ok", "service": "tasks"},
    )


def test_readyz_reports_every_check(client: FlaskClient, health: HealthRegistry) -> None:
    # given a sync and an async check: blocking services may register both
    health.add("db", lambda: None)
    health.add("broker", _ok_async_check)
    # when
    response = client.get("/readyz")
    # then
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["service"]) == ("ok", "tasks")
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "db": "ok",
        "broker": "ok",
    }


def test_readyz_is_503_when_a_check_fails(client: FlaskClient, health: HealthRegistry) -> None:
    health.add("db", lambda: None)
    health.add("broker", _failing_check)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["checks"]["db"]["status"]) == ("unavailable", "ok")
    assert (
        body["checks"]["broker"]["error"]
        == "ConnectionRefusedError: [Errno 111] Connection refused"
    )


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown so a deliberately hung check thread finishes instead of lingering."""
    event = threading.Event()
    yield event
    event.set()


def test_readyz_is_503_when_a_check_times_out(
    client: FlaskClient, health: HealthRegistry, release: threading.Event
) -> None:
    health.add("db", lambda: release.wait(60), timeout=0.05)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["db"]["error"] == "timed out after 0.05s"


def test_operations_routes_are_not_in_the_apiflask_spec(api_client: FlaskClient) -> None:
    paths = api_client.get("/openapi.json").get_json()["paths"]
    assert sorted(paths) == ["/v1/tasks", "/v1/tasks/{task_id}"]


# --- problem details --------------------------------------------------------------------------


def test_problem_error_renders_its_status_body_and_headers(client: FlaskClient) -> None:
    response = client.get("/conflict")
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["X-Task-State"] == "closed"
    assert response.get_json() == {
        "type": "urn:roadbed:problem:conflict",
        "title": "Conflict",
        "status": 409,
        "code": "conflict",
        "detail": "The task is already closed.",
    }


def test_unknown_route_is_a_404_problem(client: FlaskClient) -> None:
    response = client.get("/no/such/path")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json() == {
        "type": "urn:roadbed:problem:not_found",
        "title": "Not Found",
        "status": 404,
        "code": "not_found",
    }


def test_wrong_method_is_a_405_problem_with_allow(client: FlaskClient) -> None:
    response = client.delete("/v1/tasks/1")
    assert response.status_code == 405
    assert sorted(response.headers["Allow"].split(", ")) == ["GET", "HEAD", "OPTIONS"]
    assert response.get_json() == {
        "type": "urn:roadbed:problem:method_not_allowed",
        "title": "Method Not Allowed",
        "status": 405,
        "code": "method_not_allowed",
    }


def test_unhandled_exception_is_logged_and_a_bare_500(client: FlaskClient, log_lines) -> None:
    response = client.get("/boom", headers={"X-Request-ID": "req-boom"})
    assert response.status_code == 500
    assert response.get_json() == {
        "type": "urn:roadbed:problem:internal_error",
        "title": "Internal Server Error",
        "status": 500,
        "code": "internal_error",
    }
    assert "hunter2" not in response.get_data(as_text=True)
    [error] = log_lines.events("unhandled_exception")
    assert (error["request_id"], error["level"], error["path"]) == ("req-boom", "error", "/boom")
    assert error["exception"][0]["exc_type"] == "RuntimeError"
    [access] = log_lines.access_lines()
    assert (access["status"], access["route"]) == (500, "/boom")


def test_apiflask_body_validation_error_is_422_with_field_errors(api_client: FlaskClient) -> None:
    response = api_client.post(
        "/v1/tasks", json={"title": "", "priority": "high", "items": [{"name": "a"}, {}]}
    )
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.get_json()
    assert {key: value for key, value in body.items() if key != "errors"} == {
        "type": "urn:roadbed:problem:validation_failed",
        "title": "Unprocessable Content",
        "status": 422,
        "code": "validation_failed",
        "detail": "The request is invalid.",
    }
    assert sorted(body["errors"], key=lambda error: error["field"]) == [
        {"field": "items.1.name", "message": "Missing data for required field.", "code": "invalid"},
        {"field": "priority", "message": "Not a valid integer.", "code": "invalid"},
        {"field": "title", "message": "Shorter than minimum length 1.", "code": "invalid"},
    ]


def test_apiflask_query_validation_error_names_the_location(api_client: FlaskClient) -> None:
    response = api_client.get("/v1/tasks?limit=lots")
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "query.limit", "message": "Not a valid integer.", "code": "invalid"}
    ]


def test_apiflask_abort_is_a_problem_with_its_message(api_client: FlaskClient) -> None:
    response = api_client.get("/v1/tasks/9")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json() == {
        "type": "urn:roadbed:problem:not_found",
        "title": "Not Found",
        "status": 404,
        "code": "not_found",
        "detail": "No task with that id.",
    }


def test_apiflask_routing_errors_are_problems_too(api_client: FlaskClient) -> None:
    response = api_client.put("/v1/tasks/9")
    assert (response.status_code, response.get_json()["code"]) == (405, "method_not_allowed")


async def _ok_async_check() -> None:
    return None


def _failing_check() -> None:
    raise ConnectionRefusedError(111, "Connection refused")


def test_mounted_app_reports_templates_relative_to_its_prefix(
    client: FlaskClient, log_lines
) -> None:
    # given the app served under /tasks (SCRIPT_NAME), as in the embedded composition
    response = client.get("/v1/tasks/5", environ_overrides={"SCRIPT_NAME": "/tasks"})
    # then
    assert response.status_code == 200
    [line] = log_lines.access_lines()
    assert (line["route"], line["path"]) == ("/v1/tasks/{task_id}", "/tasks/v1/tasks/5")
