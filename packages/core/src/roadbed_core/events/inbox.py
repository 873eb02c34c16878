"""Idempotent consumers for SQLAlchemy services: the inbox half of DESIGN.md §5.

Buses deliver at least once, so a handler may see the same event twice (a relay that died before
marking, a broker redelivery after a lost ack). Wrapping the handler with
:func:`idempotent_consumer` makes that harmless: in one transaction it records
``(consumer, event id)`` in the inbox and runs the handler with the same session. A duplicate id
means the work is already committed, so the handler is skipped; a handler failure rolls back the
inbox row too, so the bus's retry gets a clean second chance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from roadbed_core.events.bus import Handler
from roadbed_core.events.envelope import CloudEvent

#: A consumer's business logic: runs inside the transaction that records the event as processed.
SessionHandler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
BlockingSessionHandler = Callable[[Session, CloudEvent], None]


def _claim_statement(dialect_name: str, inbox: Table, consumer: str, event_id: str) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING event_id``: a row back means "first time".

    On PostgreSQL a concurrent duplicate waits for the first transaction: if that one commits the
    insert does nothing (skip), if it rolls back this one inserts (and runs the handler).
    """
    values = {"consumer": consumer, "event_id": event_id, "processed_at": datetime.now(UTC)}
    statement: postgresql.Insert | sqlite.Insert
    if dialect_name == "postgresql":
        statement = postgresql.insert(inbox).values(values).on_conflict_do_nothing()
    elif dialect_name == "sqlite":
        statement = sqlite.insert(inbox).values(values).on_conflict_do_nothing()
    else:
        raise ValueError(f"the inbox supports PostgreSQL and SQLite, not {dialect_name!r}")
    return statement.returning(inbox.c.event_id)


async def claim_event(session: AsyncSession, *, inbox: Table, consumer: str, event_id: str) -> bool:
    """Record ``event_id`` as processed by ``consumer``; ``False`` if it already was."""
    statement = _claim_statement(session.get_bind().dialect.name, inbox, consumer, event_id)
    return (await session.execute(statement)).scalar_one_or_none() is not None


def claim_event_blocking(session: Session, *, inbox: Table, consumer: str, event_id: str) -> bool:
    """:func:`claim_event` for a blocking ``Session``."""
    statement = _claim_statement(session.get_bind().dialect.name, inbox, consumer, event_id)
    return session.execute(statement).scalar_one_or_none() is not None


def idempotent_consumer(
    *,
    consumer: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: Table,
    handler: SessionHandler,
) -> Handler:
    """A bus handler that runs ``handler(session, event)`` at most once per event id.

    The wrapper owns the transaction (it is the unit of work of a delivery): it commits when the
    handler returns and rolls back when it raises, and the exception reaches the bus for a retry.
    """

    async def handle(event: CloudEvent) -> None:
        async with sessionmaker() as session, session.begin():
            if await claim_event(session, inbox=inbox, consumer=consumer, event_id=event.id):
                await handler(session, event)

    return handle


def idempotent_consumer_blocking(
    *,
    consumer: str,
    sessionmaker: sessionmaker[Session],
    inbox: Table,
    handler: BlockingSessionHandler,
) -> Handler:
    """:func:`idempotent_consumer` for blocking sessions; the transaction runs in a worker thread."""

    def handle_blocking(event: CloudEvent) -> None:
        with sessionmaker() as session, session.begin():
            if claim_event_blocking(session, inbox=inbox, consumer=consumer, event_id=event.id):
                handler(session, event)

    async def handle(event: CloudEvent) -> None:
        await asyncio.to_thread(handle_blocking, event)

    return handle
