"""Email rules: which message an event owes, and sending it at most once per delivery row.

Two steps, two transactions, both owned by the consumer:

1. :func:`record` runs inside the inbox transaction: the event is marked processed and its
   delivery row queued together, or neither is.
2. :func:`send` runs after that commit. It locks the row still owed, hands the message to the
   mailer and marks the row ``sent`` — or ``failed`` with the reason, which the consumer commits
   before raising so that the bus retries. A retry skips step 1 (the inbox knows the event) and
   finds the same row in step 2, so nothing is recorded twice and a sent row is never resent.

The one window left is a crash after the mailer accepted a message and before ``sent`` commits:
that message goes out again, with the same ``Message-ID``. Mail is at-least-once by nature.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address

from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_core.events.envelope import CloudEvent
from roadbed_notify.mail import repository
from roadbed_notify.mail.mailer import Mailer, MailerError
from roadbed_notify.mail.message import build_message
from roadbed_notify.mail.templates import render_event

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What :func:`send` did: ``delivery_id`` is ``None`` when nothing was owed any more."""

    delivery_id: uuid.UUID | None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


async def record(db: AsyncSession, *, event: CloudEvent, consumer: str, now: datetime) -> None:
    """Queue the email ``event`` asks for (a no-op if this event already queued it)."""
    email = render_event(event)
    await repository.add_if_absent(
        db,
        event_id=event.id,
        consumer=consumer,
        recipient=email.recipient.addr_spec,
        subject=email.subject,
        template=email.template,
        now=now,
    )


async def send(
    db: AsyncSession, *, event: CloudEvent, mailer: Mailer, sender: Address, now: datetime
) -> SendOutcome:
    """Send the email recorded for ``event`` unless it was sent already; record the outcome."""
    email = render_event(event)
    delivery = await repository.get_unsent_for_update(
        db, event_id=event.id, template=email.template, recipient=email.recipient.addr_spec
    )
    if delivery is None:
        return SendOutcome(delivery_id=None)
    message = build_message(email, sender=sender, delivery_id=delivery.id, date=delivery.created_at)
    try:
        await mailer.send(message)
    except MailerError as exc:
        await repository.mark_failed(db, delivery_id=delivery.id, error=str(exc))
        logger.warning(
            "email %s (%s, event %s) not sent, attempt %d: %s",
            delivery.id,
            delivery.template,
            event.id,
            delivery.attempts + 1,
            exc,
        )
        return SendOutcome(delivery_id=delivery.id, error=str(exc))
    await repository.mark_sent(db, delivery_id=delivery.id, now=now)
    logger.info("email %s (%s, event %s) sent", delivery.id, delivery.template, event.id)
    return SendOutcome(delivery_id=delivery.id)
