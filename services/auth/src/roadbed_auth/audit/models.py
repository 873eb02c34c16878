"""Append-only audit entries (also published as events)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from roadbed_auth.base import Base
from roadbed_core.db import UtcDateTime


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_subject_time", "subject_id", "occurred_at"),
        Index("ix_audit_log_action_time", "action", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: e.g. "login.succeeded", "login.failed", "account.locked", "password.changed", "role.granted".
    action: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    request_id: Mapped[str] = mapped_column(String(128), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
