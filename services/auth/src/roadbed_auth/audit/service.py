"""Recording audit entries (in the caller's transaction, so they commit with what they describe)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.audit.models import AuditEntry
from roadbed_auth.context import RequestContext


async def record(
    db: AsyncSession,
    *,
    action: str,
    context: RequestContext,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        id=uuid.uuid4(),
        occurred_at=now,
        action=action,
        actor_id=actor_id,
        subject_id=subject_id,
        ip_address=context.ip_address,
        user_agent=context.user_agent,
        request_id=context.request_id,
        details=details or {},
    )
    db.add(entry)
    await db.flush()
    return entry
