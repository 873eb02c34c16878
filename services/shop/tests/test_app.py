"""The shop app answers its operational endpoints as a standalone process would."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from roadbed_core.testing.operational import check_operational_endpoints
from roadbed_shop.app import create_app
from roadbed_shop.config import ShopSettings


def test_operational_endpoints(tmp_path: Path) -> None:
    settings = ShopSettings(database_url=f"sqlite:///{tmp_path}/shop.db")

    with TestClient(create_app(settings)) as client:
        check_operational_endpoints(
            client.get, service="shop", title="Roadbed shop", readiness_checks={"database", "cache"}
        )


def test_readyz_is_503_when_the_database_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "shop.db").mkdir()  # a directory where the file should be: SQLite cannot open it
    settings = ShopSettings(database_url=f"sqlite:///{tmp_path}/shop.db")

    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"]["status"] == "error"
    assert response.json()["checks"]["cache"]["status"] == "ok"
