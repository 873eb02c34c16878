"""Versioned migration operations for the outbox and inbox tables.

Every SQLAlchemy service's first migration calls :func:`create_event_tables_v1`, so the schema
is written once. A published version never changes: a later change to the tables gets a new
``..._v2`` function and a new migration in each service.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from roadbed_core.events.outbox import INBOX_TABLE, OUTBOX_TABLE


def create_event_tables_v1() -> None:
    """Create ``event_outbox`` and ``event_inbox`` as :mod:`roadbed_core.events.outbox` defines them."""
    op.create_table(
        INBOX_TABLE,
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f(f"pk_{INBOX_TABLE}")),
    )
    op.create_table(
        OUTBOX_TABLE,
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{OUTBOX_TABLE}")),
    )
    op.create_index(
        f"ix_{OUTBOX_TABLE}_pending",
        OUTBOX_TABLE,
        ["created_at", "id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )


def drop_event_tables_v1() -> None:
    op.drop_index(f"ix_{OUTBOX_TABLE}_pending", table_name=OUTBOX_TABLE)
    op.drop_table(OUTBOX_TABLE)
    op.drop_table(INBOX_TABLE)
