"""Checks every SQLAlchemy service runs on its migrations (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from roadbed_core import db


def migration_drift(migrations: Path, metadata: MetaData, url: str) -> list[Any]:
    """Upgrade a database to head and return what differs from ``metadata`` (empty when in sync)."""
    db.upgrade(migrations, url)
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def downgrade_to_base(migrations: Path, url: str) -> None:
    from alembic import command

    command.downgrade(db.alembic_config(migrations, url), "base")
