"""The ``notify.email`` consumer group: auth's account events in, emails out.

The handler is the unit of work of one delivery (the bus calls it; nothing above it holds a
transaction), so it is where the two transactions of :mod:`roadbed_notify.mail.service` begin and
commit.
"""

from __future__ import annotations

from email.headerregistry import Address

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_core.db import unit_of_work
from roadbed_core.events.bus import EventBus, Handler
from roadbed_core.events.envelope import CloudEvent
from roadbed_core.events.inbox import idempotent_consumer
from roadbed_notify.clock import Clock, utc_now
from roadbed_notify.mail import service
from roadbed_notify.mail.mailer import Mailer
from roadbed_notify.mail.templates import TEMPLATES
from roadbed_notify.tables import inbox

#: The consumer group on the bus, and the consumer name in the inbox.
EMAIL_CONSUMER = "notify.email"
#: Exactly the event types with an email template (exact types are valid topic patterns).
EMAIL_EVENT_TYPES: tuple[str, ...] = tuple(TEMPLATES)


class EmailNotSent(RuntimeError):
    """The mailer refused a message; raised after the failure is committed, so the bus retries."""


def email_handler(
    *,
    sessions: async_sessionmaker[AsyncSession],
    mailer: Mailer,
    sender: Address,
    consumer: str = EMAIL_CONSUMER,
    clock: Clock = utc_now,
) -> Handler:
    """A bus handler that records the email an event asks for, once, then sends it once."""

    async def record(db: AsyncSession, event: CloudEvent) -> None:
        await service.record(db, event=event, consumer=consumer, now=clock())

    record_once = idempotent_consumer(
        consumer=consumer, sessionmaker=sessions, inbox=inbox, handler=record
    )

    async def handle(event: CloudEvent) -> None:
        await record_once(event)
        async with unit_of_work(sessions) as db:
            outcome = await service.send(db, event=event, mailer=mailer, sender=sender, now=clock())
        if outcome.failed:
            raise EmailNotSent(
                f"email {outcome.delivery_id} for {event.type} {event.id} not sent: {outcome.error}"
            )

    return handle


def subscribe_email(
    bus: EventBus,
    *,
    sessions: async_sessionmaker[AsyncSession],
    mailer: Mailer,
    sender: Address,
    group: str = EMAIL_CONSUMER,
    clock: Clock = utc_now,
) -> None:
    """Register the email consumer on ``bus`` (before it starts) as consumer group ``group``."""
    handler = email_handler(
        sessions=sessions, mailer=mailer, sender=sender, consumer=group, clock=clock
    )
    bus.subscribe(group, EMAIL_EVENT_TYPES, handler)
