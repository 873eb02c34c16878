"""Every SQLAlchemy service's migrations build exactly its tables, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from sqlalchemy import MetaData

from roadbed_core.testing.migrations import downgrade_to_base, migration_drift, table_names

SQLALCHEMY_SERVICES = ["auth", "shop", "tasks", "notify"]


def _service(name: str) -> tuple[Path, MetaData]:
    lifecycle = importlib.import_module(f"roadbed_{name}.lifecycle").lifecycle
    metadata = importlib.import_module(f"roadbed_{name}.tables").metadata
    return lifecycle.migrations, metadata


@pytest.mark.parametrize("service", SQLALCHEMY_SERVICES)
def test_migrations_match_the_models_on_sqlite(service: str, tmp_path: Path) -> None:
    migrations, metadata = _service(service)
    url = f"sqlite:///{tmp_path}/{service}.db"

    assert migration_drift(migrations, metadata, url) == []
    assert table_names(url) == {*metadata.tables, "alembic_version"}

    downgrade_to_base(migrations, url)
    assert table_names(url) == {"alembic_version"}


@pytest.mark.parametrize("service", SQLALCHEMY_SERVICES)
def test_migrations_match_the_models_on_postgresql(service: str, postgres_url: str) -> None:
    migrations, metadata = _service(service)

    assert migration_drift(migrations, metadata, postgres_url) == []
    assert table_names(postgres_url) == {*metadata.tables, "alembic_version"}

    downgrade_to_base(migrations, postgres_url)
    assert table_names(postgres_url) == {"alembic_version"}
