"""All SQL about email deliveries. Functions flush at most; the caller's unit of work commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Row, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_notify.mail.models import Delivery, DeliveryStatus
from roadbed_notify.tables import deliveries

CHANNEL = "email"
#: ``deliveries.last_error`` holds at most this much.
MAX_ERROR_LENGTH = 1000


def _insert_ignoring_duplicates(dialect_name: str, values: dict[str, Any]) -> Insert:
    """``INSERT ... ON CONFLICT (event_id, template, recipient) DO NOTHING``."""
    key = [deliveries.c.event_id, deliveries.c.template, deliveries.c.recipient]
    if dialect_name == "postgresql":
        return (
            postgresql.insert(deliveries).values(values).on_conflict_do_nothing(index_elements=key)
        )
    if dialect_name == "sqlite":
        return sqlite.insert(deliveries).values(values).on_conflict_do_nothing(index_elements=key)
    raise ValueError(f"deliveries support PostgreSQL and SQLite, not {dialect_name!r}")


def _delivery(row: Row[Any]) -> Delivery:
    values = row._asdict()
    return Delivery(**{**values, "status": DeliveryStatus(values["status"])})


async def add_if_absent(
    db: AsyncSession,
    *,
    event_id: str,
    consumer: str,
    recipient: str,
    subject: str,
    template: str,
    now: datetime,
) -> None:
    """Queue an email unless this event already has one for this template and recipient."""
    values = {
        "id": uuid.uuid4(),
        "event_id": event_id,
        "consumer": consumer,
        "channel": CHANNEL,
        "recipient": recipient,
        "subject": subject,
        "template": template,
        "status": DeliveryStatus.QUEUED.value,
        "attempts": 0,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }
    await db.execute(_insert_ignoring_duplicates(db.get_bind().dialect.name, values))


async def get_unsent_for_update(
    db: AsyncSession, *, event_id: str, template: str, recipient: str
) -> Delivery | None:
    """The row still owed for this key, locked until the transaction ends; ``None`` once sent.

    On PostgreSQL a concurrent redelivery of the same event waits here for the first one's
    transaction, then sees the row as sent and sends nothing. SQLite has a single writer anyway.
    """
    statement = (
        select(deliveries)
        .where(
            deliveries.c.event_id == event_id,
            deliveries.c.template == template,
            deliveries.c.recipient == recipient,
            deliveries.c.status != DeliveryStatus.SENT.value,
        )
        .with_for_update()
    )
    row = (await db.execute(statement)).one_or_none()
    return None if row is None else _delivery(row)


async def mark_sent(db: AsyncSession, *, delivery_id: uuid.UUID, now: datetime) -> None:
    await db.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(
            status=DeliveryStatus.SENT.value,
            attempts=deliveries.c.attempts + 1,
            last_error=None,
            sent_at=now,
        )
    )


async def mark_failed(db: AsyncSession, *, delivery_id: uuid.UUID, error: str) -> None:
    await db.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(
            status=DeliveryStatus.FAILED.value,
            attempts=deliveries.c.attempts + 1,
            last_error=error[:MAX_ERROR_LENGTH],
        )
    )
