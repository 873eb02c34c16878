"""The tasks app (Flask) answers its operational endpoints as a standalone process would."""

from __future__ import annotations

from pathlib import Path

from roadbed_core.testing.operational import check_operational_endpoints
from roadbed_tasks.app import create_app
from roadbed_tasks.config import TasksSettings


def test_operational_endpoints(tmp_path: Path) -> None:
    settings = TasksSettings(database_url=f"sqlite:///{tmp_path}/tasks.db")
    client = create_app(settings).test_client()

    check_operational_endpoints(
        client.get, service="tasks", title="Roadbed tasks", readiness_checks={"database", "cache"}
    )


def test_validation_and_method_errors_are_problem_documents(tmp_path: Path) -> None:
    settings = TasksSettings(database_url=f"sqlite:///{tmp_path}/tasks.db")
    client = create_app(settings).test_client()

    response = client.post("/healthz")

    assert response.status_code == 405
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == "method_not_allowed"
