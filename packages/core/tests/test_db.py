"""Database plumbing: driver selection, SQLite pragmas, UTC timestamps, the unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError

from roadbed_core.db import (
    UtcDateTime,
    async_url,
    make_async_engine,
    make_async_sessionmaker,
    make_engine,
    sync_url,
    unit_of_work,
)

metadata = MetaData()
events = Table(
    "events", metadata, Column("id", Integer, primary_key=True), Column("at", UtcDateTime)
)


@pytest.mark.parametrize(
    ("url", "sync", "asynchronous"),
    [
        ("sqlite:///var/x.db", "sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db", "postgresql+asyncpg://u@h/db"),
        (
            "postgresql+asyncpg://u@h/db",
            "postgresql+psycopg://u@h/db",
            "postgresql+asyncpg://u@h/db",
        ),
    ],
)
def test_each_engine_gets_its_driver(url: str, sync: str, asynchronous: str) -> None:
    assert sync_url(url).render_as_string() == sync
    assert async_url(url).render_as_string() == asynchronous


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database backend 'mysql'"):
        sync_url("mysql://u@h/db")


def test_sqlite_engines_get_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/nested/dir/x.db")  # the folder is created

    with engine.connect() as connection:
        pragmas = (
            connection.execute(text("PRAGMA journal_mode")).scalar(),
            connection.execute(text("PRAGMA foreign_keys")).scalar(),
            connection.execute(text("PRAGMA busy_timeout")).scalar(),
        )
    engine.dispose()

    assert pragmas == ("wal", 1, 5000)


def test_timestamps_come_back_aware_utc_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    metadata.create_all(engine)
    paris = datetime(2026, 11, 25, 13, 0, tzinfo=timezone(timedelta(hours=1)))

    with engine.begin() as connection:
        connection.execute(insert(events).values(id=1, at=paris))
        stored = connection.execute(select(events.c.at)).scalar_one()
    engine.dispose()

    assert stored == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert stored.tzinfo is UTC


def test_naive_timestamps_are_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    metadata.create_all(engine)

    with engine.begin() as connection, pytest.raises(StatementError, match="naive datetime"):
        connection.execute(insert(events).values(id=1, at=datetime(2026, 11, 25, 12, 0)))  # noqa: DTZ001
    engine.dispose()


async def test_the_unit_of_work_commits_or_rolls_back(tmp_path: Path) -> None:
    engine = make_async_engine(f"sqlite:///{tmp_path}/x.db")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    sessions = make_async_sessionmaker(engine)

    async def failing_insert() -> None:
        async with unit_of_work(sessions) as db:
            await db.execute(insert(events).values(id=2, at=datetime.now(UTC)))
            raise RuntimeError("boom")

    async with unit_of_work(sessions) as db:
        await db.execute(insert(events).values(id=1, at=datetime.now(UTC)))
    with pytest.raises(RuntimeError, match="boom"):
        await failing_insert()
    async with sessions() as db:
        ids = (await db.execute(select(events.c.id))).scalars().all()
    await engine.dispose()

    assert ids == [1]
