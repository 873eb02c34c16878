"""The notify worker process answers its operational endpoints and runs its consumers."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from roadbed_core.testing.operational import check_operational_endpoints
from roadbed_notify.app import create_app
from roadbed_notify.config import NotifySettings, get_settings
from roadbed_notify.lifecycle import lifecycle
from roadbed_notify.runtime import NotifySubscriber


def test_operational_endpoints(tmp_path: Path) -> None:
    settings = NotifySettings(database_url=f"sqlite:///{tmp_path}/notify.db")

    with TestClient(create_app(settings)) as client:
        check_operational_endpoints(
            client.get,
            service="notify",
            title="Roadbed notify",
            readiness_checks={"database", "cache"},
        )


def test_notify_consumes_and_publishes_nothing_itself() -> None:
    assert lifecycle.outbox is None


def test_the_cli_and_the_composition_get_the_consumers_with_environment_settings() -> None:
    assert lifecycle.subscribers == (NotifySubscriber(get_settings),)
