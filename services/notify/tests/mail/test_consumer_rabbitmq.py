"""The notify.email consumer through RabbitMQ and PostgreSQL, as ``roadbed worker`` runs it."""

from __future__ import annotations

from collections.abc import Callable

import aio_pika
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_core.events.rabbitmq import RabbitMQBus, dead_letter_queue_name
from roadbed_notify.mail.consumer import subscribe_email
from roadbed_notify.mail.mailer import SmtpMailer

from ..support import (
    SENDER,
    FixedClock,
    RecordingHandler,
    delivery_rows,
    duplicate_registration,
    inbox_count,
    running_smtp_server,
    verification_requested,
)

Sessions = async_sessionmaker[AsyncSession]


async def dead_letter_count(amqp_url: str, group: str) -> int:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(dead_letter_queue_name(group), passive=True)
        return queue.declaration_result.message_count or 0


async def test_duplicates_through_the_broker_send_one_email_each(
    amqp_url: str,
    postgres_sessions: Sessions,
    clock: FixedClock,
    rabbit_bus: Callable[..., tuple[RabbitMQBus, str]],
) -> None:
    # given the consumer on RabbitMQ, with handlers running concurrently (prefetch 4)
    handler = RecordingHandler()
    with running_smtp_server(handler) as server:
        bus, group = rabbit_bus()
        mailer = SmtpMailer(host=server.host, port=server.port, starttls=False)
        subscribe_email(
            bus, sessions=postgres_sessions, mailer=mailer, sender=SENDER, group=group, clock=clock
        )
        await bus.start()
        first = verification_requested(email="ada@example.com")
        second = duplicate_registration(email="grace@example.com", display_name="Grace Hopper")

        # when the first event is published twice, then another one
        await bus.publish(first)
        await bus.publish(first)
        await bus.publish(second)
        await handler.wait_for(2)
        await bus.close()  # lets the handlers still running finish

    # then each event produced exactly one message and one sent row
    assert sorted(recipients for _, recipients, _ in handler.received) == [
        ["ada@example.com"],
        ["grace@example.com"],
    ]
    rows = await delivery_rows(postgres_sessions)
    assert sorted((row["recipient"], row["status"], row["attempts"]) for row in rows) == [
        ("ada@example.com", "sent", 1),
        ("grace@example.com", "sent", 1),
    ]
    assert await inbox_count(postgres_sessions) == 2
    assert await dead_letter_count(amqp_url, group) == 0


async def test_a_rejected_send_is_retried_through_the_broker_and_sent_once(
    amqp_url: str,
    postgres_sessions: Sessions,
    clock: FixedClock,
    rabbit_bus: Callable[..., tuple[RabbitMQBus, str]],
) -> None:
    # given a relay that answers 451 to the first message
    handler = RecordingHandler(refuse=1)
    with running_smtp_server(handler) as server:
        bus, group = rabbit_bus()
        mailer = SmtpMailer(host=server.host, port=server.port, starttls=False)
        subscribe_email(
            bus, sessions=postgres_sessions, mailer=mailer, sender=SENDER, group=group, clock=clock
        )
        await bus.start()
        event = verification_requested()

        # when the event is published (the retry goes through the group's delay queue)
        await bus.publish(event)
        await handler.wait_for(1)
        await bus.close()

    # then one message arrived, on the second attempt, and the one row says so
    assert handler.refused == 1
    assert [recipients for _, recipients, _ in handler.received] == [["ada@example.com"]]
    [row] = await delivery_rows(postgres_sessions)
    assert (row["event_id"], row["status"], row["attempts"], row["last_error"]) == (
        event.id,
        "sent",
        2,
        None,
    )
    assert await dead_letter_count(amqp_url, group) == 0
