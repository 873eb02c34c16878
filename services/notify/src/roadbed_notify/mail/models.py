"""What a delivery row holds, as the repository hands it out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DeliveryStatus(StrEnum):
    #: Recorded, not sent yet (or the send is under way).
    QUEUED = "queued"
    SENT = "sent"
    #: The latest attempt failed; the bus retries the event, which sends the row again.
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    id: uuid.UUID
    event_id: str
    consumer: str
    channel: str
    recipient: str
    subject: str
    template: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
