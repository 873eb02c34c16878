"""The transactional outbox and inbox for SQLAlchemy services (DESIGN.md §5).

Each service calls :func:`define_outbox_table` (and, if it consumes events,
:func:`define_inbox_table`) on its own ``MetaData``, so its Alembic migrations create the tables
in its own database. Inside a unit of work, :func:`add_event` / :func:`add_event_async` insert
the event next to the business change; the unit of work commits both or neither. The relay reads
the table through :class:`SqlAlchemyOutboxStore` (asyncio engines) or
:class:`SqlAlchemySyncOutboxStore` (blocking engines) in transactions of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    Uuid,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, scoped_session

from roadbed_core.events.envelope import CloudEvent
from roadbed_core.events.relay import (
    BatchOutcome,
    BlockingDeliver,
    BlockingOutboxStore,
    Deliver,
    deliver_rows,
    deliver_rows_blocking,
)
from roadbed_core.events.wakeup import notify_outbox_committed

logger = logging.getLogger(__name__)

OUTBOX_TABLE = "event_outbox"
INBOX_TABLE = "event_inbox"
_WAKE_REGISTERED = "roadbed_events.wake_after_commit"


def define_outbox_table(metadata: MetaData, *, name: str = OUTBOX_TABLE) -> Table:
    """Add the outbox table to a service's ``MetaData`` (its migrations then create it).

    ``id`` is the event id, so a row can never be written twice for one event. The partial index
    covers exactly what the relay scans: pending rows in creation order.
    """
    published_at = Column("published_at", DateTime(timezone=True), nullable=True)
    return Table(
        name,
        metadata,
        Column("id", Uuid(as_uuid=False), primary_key=True),
        Column("type", String(255), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        published_at,
        Column("attempts", Integer, nullable=False, default=0, server_default="0"),
        Index(
            f"ix_{name}_pending",
            "created_at",
            "id",
            postgresql_where=published_at.is_(None),
            sqlite_where=published_at.is_(None),
        ),
    )


def define_inbox_table(metadata: MetaData, *, name: str = INBOX_TABLE) -> Table:
    """Add the inbox table (events a consumer group has processed) to a service's ``MetaData``."""
    return Table(
        name,
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", Uuid(as_uuid=False), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


def _outbox_values(event: CloudEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "payload": event.to_json().decode("utf-8"),
        "created_at": datetime.now(UTC),
        "attempts": 0,
    }


def _wake_relay_after_commit(session: Session) -> None:
    # Registered once per session; a later commit of the same session may wake the relay for
    # nothing, which costs one empty poll.
    if session.info.get(_WAKE_REGISTERED):
        return
    session.info[_WAKE_REGISTERED] = True
    event.listen(session, "after_commit", lambda _session: notify_outbox_committed())


def add_event(
    session: Session | scoped_session[Session], cloud_event: CloudEvent, *, table: Table
) -> None:
    """Insert ``cloud_event`` into the outbox within the session's transaction. Never commits.

    A ``scoped_session`` (Flask-SQLAlchemy's ``db.session``) is resolved to the current session,
    so the commit hook lands on that session and not on every session of the factory.
    """
    current = session() if isinstance(session, scoped_session) else session
    current.execute(insert(table).values(_outbox_values(cloud_event)))
    _wake_relay_after_commit(current)


async def add_event_async(session: AsyncSession, cloud_event: CloudEvent, *, table: Table) -> None:
    """:func:`add_event` for an ``AsyncSession``. Never commits."""
    await session.execute(insert(table).values(_outbox_values(cloud_event)))
    _wake_relay_after_commit(session.sync_session)


def _pending_rows(table: Table, limit: int) -> Select[tuple[str, str]]:
    # PostgreSQL: lock the batch and skip rows another relay holds, so relays run side by side.
    # SQLite has no FOR UPDATE; SQLAlchemy leaves the clause out there (one writer anyway).
    return (
        select(table.c.id, table.c.payload)
        .where(table.c.published_at.is_(None))
        .order_by(table.c.created_at, table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _mark_statements(table: Table, outcome: BatchOutcome) -> list[Any]:
    """Mark the delivered rows published and count an attempt on the failed ones."""
    statements: list[Any] = []
    if outcome.delivered:
        statements.append(
            update(table)
            .where(table.c.id.in_(outcome.delivered))
            .values(published_at=datetime.now(UTC))
        )
    if outcome.failed:
        statements.append(
            update(table)
            .where(table.c.id.in_(outcome.failed))
            .values(attempts=table.c.attempts + 1)
        )
    return statements


class SqlAlchemyOutboxStore:
    """:class:`~roadbed_core.events.relay.OutboxStore` on an ``AsyncEngine`` (asyncpg, aiosqlite)."""

    def __init__(self, engine: AsyncEngine, table: Table) -> None:
        self._engine = engine
        self._table = table

    async def publish_pending(self, *, limit: int, deliver: Deliver) -> int:
        async with self._engine.begin() as connection:
            rows: Sequence[Any] = (
                await connection.execute(_pending_rows(self._table, limit))
            ).all()
            outcome = await deliver_rows(rows, deliver)
            for statement in _mark_statements(self._table, outcome):
                await connection.execute(statement)
        return outcome.result()


class SqlAlchemySyncOutboxStore(BlockingOutboxStore):
    """:class:`~roadbed_core.events.relay.OutboxStore` on a blocking ``Engine`` (psycopg, pysqlite)."""

    def __init__(self, engine: Engine, table: Table) -> None:
        self._engine = engine
        self._table = table

    def publish_pending_blocking(self, *, limit: int, deliver: BlockingDeliver) -> int:
        with self._engine.begin() as connection:
            rows: Sequence[Any] = connection.execute(_pending_rows(self._table, limit)).all()
            outcome = deliver_rows_blocking(rows, deliver)
            for statement in _mark_statements(self._table, outcome):
                connection.execute(statement)
        return outcome.result()
