"""Database plumbing shared by the SQLAlchemy services: engines, the unit of work, migrations.

Embedded mode runs on SQLite files under ``var/``; production on PostgreSQL. Engines get the
SQLite pragmas a concurrent web app needs (WAL, foreign keys, a busy timeout). Migrations always
run through a synchronous driver (pysqlite / psycopg), so they work from any caller, including
code that already runs an event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import (
    DateTime,
    Dialect,
    Engine,
    MetaData,
    TypeDecorator,
    create_engine,
    event,
    pool,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


#: Deterministic constraint names, so Alembic can alter and drop them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC on the way in and on the way out, on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones and hands back naive values, which
    this type marks as UTC again. Naive datetimes are refused on write: they are always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC (datetime.now(UTC))")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_metadata() -> MetaData:
    """A service's ``MetaData`` with the shared naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def _with_driver(url: str | URL, table: dict[str, str]) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in table:
        raise ValueError(f"unsupported database backend {backend!r} (use sqlite or postgresql)")
    return parsed.set(drivername=table[backend])


def sync_url(url: str | URL) -> URL:
    """The same database through a blocking driver (pysqlite or psycopg)."""
    return _with_driver(url, _SYNC_DRIVERS)


def async_url(url: str | URL) -> URL:
    """The same database through an asyncio driver (aiosqlite or asyncpg)."""
    return _with_driver(url, _ASYNC_DRIVERS)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_directory(url: str | URL) -> None:
    """Create the folder a file-backed SQLite URL points into (``var/`` on a fresh clone)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; busy_timeout turns lock contention into a wait
    # instead of an immediate "database is locked" error.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def apply_sqlite_pragmas(engine: Engine) -> None:
    """Install the pragmas on every new connection of an engine someone else created (Flask-SQLAlchemy)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """A blocking engine (Flask, migrations, sync relays)."""
    url = sync_url(url)
    ensure_sqlite_directory(url)
    engine = create_engine(url, pool_pre_ping=not is_sqlite(url), **kwargs)
    apply_sqlite_pragmas(engine)
    return engine


def make_async_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """An asyncio engine (FastAPI services, the notify worker)."""
    url = async_url(url)
    ensure_sqlite_directory(url)
    engine = create_async_engine(url, pool_pre_ping=not is_sqlite(url), **kwargs)
    apply_sqlite_pragmas(engine.sync_engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_async_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The transaction boundary: commit when the block succeeds, roll back when it raises.

    Service functions only ``flush()``; whoever opens the unit of work (a request, a job, a CLI
    command) decides the commit.
    """
    async with factory() as session, session.begin():
        yield session


@contextmanager
def sync_unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Blocking twin of :func:`unit_of_work`."""
    with factory() as session, session.begin():
        yield session


# --- migrations --------------------------------------------------------------------------------


def alembic_config(script_location: Path, url: str | URL) -> Config:
    """An Alembic config with no ini file: the script folder and the database come from code."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["database_url"] = sync_url(url).render_as_string(hide_password=False)
    return config


def upgrade(script_location: Path, url: str | URL, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``."""
    ensure_sqlite_directory(url)
    command.upgrade(alembic_config(script_location, url), revision)


def run_migrations(context: EnvironmentContext, target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if url is None:
        raise RuntimeError("no database URL: call roadbed_core.db.upgrade() or set sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                # SQLite cannot ALTER most things in place: batch mode copies the table instead.
                render_as_batch=is_sqlite(url),
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
