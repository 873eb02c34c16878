"""The notify service's SQLAlchemy metadata: every table its migrations create."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Integer, String, Table, UniqueConstraint, Uuid

from roadbed_core.db import UtcDateTime, new_metadata
from roadbed_core.events.outbox import define_inbox_table, define_outbox_table

metadata = new_metadata()

#: Events written in the same transaction as the change they announce (DESIGN.md §5).
outbox = define_outbox_table(metadata)
#: Events this service has consumed, so redeliveries are no-ops.
inbox = define_inbox_table(metadata)

#: One row per message notify owes someone: recorded with the inbox row, then sent.
#: No body column on purpose: bodies carry single-use links and are rendered again from the event.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("event_id", Uuid(as_uuid=False), nullable=False),
    #: The consumer group that recorded the row (``notify.email``).
    Column("consumer", String(200), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("template", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    #: Send attempts made so far, successful or not.
    Column("attempts", Integer, nullable=False),
    #: Why the latest attempt failed (a mailer error: never message content).
    Column("last_error", String(1000), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    # A redelivered event finds its row instead of adding a second one.
    UniqueConstraint("event_id", "template", "recipient"),
    CheckConstraint("channel IN ('email')", name="channel"),
    CheckConstraint("status IN ('queued', 'sent', 'failed')", name="status"),
    CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_at_iff_sent"),
)
