"""The notify.email consumer on the in-process bus, on SQLite and PostgreSQL: each email once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_core.events import CloudEvent, InProcessBus, RetryPolicy, new_event
from roadbed_notify.mail.consumer import (
    EMAIL_CONSUMER,
    EMAIL_EVENT_TYPES,
    EmailNotSent,
    subscribe_email,
)
from roadbed_notify.mail.mailer import FileMailer, Mailer, SmtpMailer
from roadbed_notify.mail.templates import render_event

from ..support import (
    SENDER,
    START,
    FixedClock,
    RecordingHandler,
    delivery_rows,
    duplicate_registration,
    inbox_count,
    password_reset_requested,
    read_messages,
    running_smtp_server,
    verification_requested,
)

Sessions = async_sessionmaker[AsyncSession]


async def started_bus(
    build: Callable[..., InProcessBus],
    sessions: Sessions,
    mailer: Mailer,
    clock: FixedClock,
    **options: RetryPolicy,
) -> InProcessBus:
    bus = build(**options)
    subscribe_email(bus, sessions=sessions, mailer=mailer, sender=SENDER, clock=clock)
    await bus.start()
    return bus


def sent_row(event: CloudEvent, *, attempts: int = 1) -> dict[str, object]:
    """The row a successfully mailed event leaves (its id is random, so compared apart)."""
    email = render_event(event)
    return {
        "event_id": event.id,
        "consumer": EMAIL_CONSUMER,
        "channel": "email",
        "recipient": email.recipient.addr_spec,
        "subject": email.subject,
        "template": email.template,
        "status": "sent",
        "attempts": attempts,
        "last_error": None,
        "created_at": START,
        "sent_at": START,
    }


def without_id(row: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in row.items() if key != "id"}


def our_log(caplog: pytest.LogCaptureFixture) -> str:
    """Everything Roadbed's own loggers wrote, tracebacks included."""
    formatter = logging.Formatter()
    return "\n".join(
        formatter.format(record) for record in caplog.records if record.name.startswith("roadbed")
    )


def test_subscribes_to_exactly_the_auth_events_with_templates() -> None:
    assert EMAIL_EVENT_TYPES == (
        "roadbed.auth.email_verification.requested.v1",
        "roadbed.auth.password_reset.requested.v1",
        "roadbed.auth.registration.duplicate_attempted.v1",
    )


@pytest.mark.parametrize(
    "build_event", [verification_requested, password_reset_requested, duplicate_registration]
)
async def test_each_event_becomes_one_recorded_and_written_email(
    build_event: Callable[[], CloudEvent],
    sessions: Sessions,
    mail_dir: Path,
    clock: FixedClock,
    inprocess_bus: Callable[..., InProcessBus],
) -> None:
    # given the consumer on a bus, writing files
    bus = await started_bus(inprocess_bus, sessions, FileMailer(mail_dir, clock=clock), clock)
    event = build_event()

    # when the event is delivered
    await bus.publish(event)
    await bus.drain()

    # then one message went out, recorded as sent, and the event is in the inbox
    [message] = read_messages(mail_dir)
    assert (message["To"], message["Subject"]) == (
        "Ada Lovelace <ada@example.com>",
        render_event(event).subject,
    )
    [row] = await delivery_rows(sessions)
    assert without_id(row) == sent_row(event)
    assert message["Message-ID"] == f"<{row['id']}@roadbed.example>"
    assert await inbox_count(sessions) == 1


async def test_a_redelivered_event_sends_nothing_twice(
    sessions: Sessions,
    mail_dir: Path,
    clock: FixedClock,
    inprocess_bus: Callable[..., InProcessBus],
) -> None:
    # given the consumer on a bus
    bus = await started_bus(inprocess_bus, sessions, FileMailer(mail_dir, clock=clock), clock)
    event = verification_requested()

    # when the same event arrives twice (a relay that died before marking its outbox row)
    await bus.publish(event)
    await bus.publish(event)
    await bus.drain()

    # then there is one file, one delivery row, one inbox row
    assert [m["To"] for m in read_messages(mail_dir)] == ["Ada Lovelace <ada@example.com>"]
    assert [without_id(row) for row in await delivery_rows(sessions)] == [sent_row(event)]
    assert await inbox_count(sessions) == 1
    assert bus.dead_letters == ()


async def test_a_failed_send_is_recorded_and_the_redelivery_sends_it_once(
    sessions: Sessions,
    tmp_path: Path,
    clock: FixedClock,
    inprocess_bus: Callable[..., InProcessBus],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # given a mail folder that cannot be created (a file is in the way) and no bus retries
    mail_dir = tmp_path / "mail"
    mail_dir.write_text("in the way")
    bus = await started_bus(
        inprocess_bus,
        sessions,
        FileMailer(mail_dir, clock=clock),
        clock,
        retry=RetryPolicy(max_attempts=1),
    )
    event = verification_requested()

    # when the event is delivered
    await bus.publish(event)
    await bus.drain()

    # then the failure is on record (not the link), the event was dead-lettered, nothing written
    [row] = await delivery_rows(sessions)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("failed", 1, None)
    assert row["last_error"] == (
        f"could not write a message into {mail_dir}: [Errno 17] File exists: '{mail_dir}'"
    )
    [letter] = bus.dead_letters
    assert letter.error == repr(
        EmailNotSent(f"email {row['id']} for {event.type} {event.id} not sent: {row['last_error']}")
    )
    assert event.data["token"] not in letter.error
    assert await inbox_count(sessions) == 1

    # when the folder is fixed and the event is delivered again
    mail_dir.unlink()
    await bus.publish(event)
    await bus.drain()

    # then the same row is sent, once
    assert [m["To"] for m in read_messages(mail_dir)] == ["Ada Lovelace <ada@example.com>"]
    [again] = await delivery_rows(sessions)
    assert again["id"] == row["id"]
    assert without_id(again) == sent_row(event, attempts=2)
    assert await inbox_count(sessions) == 1
    # and neither the failure nor the success logged the link or its token
    assert f"email {row['id']} (auth.email_verification, event {event.id}) sent" in our_log(caplog)
    assert event.data["token"] not in our_log(caplog)


async def test_a_temporary_smtp_rejection_is_retried_by_the_bus_and_sent_once(
    sessions: Sessions, clock: FixedClock, inprocess_bus: Callable[..., InProcessBus]
) -> None:
    # given an SMTP relay that answers 451 to the first message
    handler = RecordingHandler(refuse=1)
    with running_smtp_server(handler) as server:
        mailer = SmtpMailer(host=server.host, port=server.port, starttls=False)
        bus = await started_bus(inprocess_bus, sessions, mailer, clock)
        event = password_reset_requested()

        # when the event is delivered (the bus retries at once)
        await bus.publish(event)
        await bus.drain()

    # then the second attempt delivered exactly one message and the row says so
    assert handler.refused == 1
    assert [received["Subject"] for _, _, received in handler.received] == [
        "Reset your Roadbed password"
    ]
    assert [without_id(row) for row in await delivery_rows(sessions)] == [
        sent_row(event, attempts=2)
    ]
    assert bus.dead_letters == ()


async def test_an_event_that_cannot_become_an_email_is_dead_lettered_and_records_nothing(
    sessions: Sessions,
    mail_dir: Path,
    clock: FixedClock,
    inprocess_bus: Callable[..., InProcessBus],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # given an event whose link is not a web link
    bus = await started_bus(inprocess_bus, sessions, FileMailer(mail_dir, clock=clock), clock)
    good = verification_requested()
    event = new_event(
        type=good.type,
        source="/auth",
        data={**good.data, "verify_url": f"javascript:steal('{good.data['token']}')"},
    )

    # when it is delivered
    await bus.publish(event)
    await bus.drain()

    # then every attempt failed on validation, nothing was recorded, the token is not in the error
    [letter] = bus.dead_letters
    assert letter.attempts == 3
    assert letter.error == (
        f"InvalidEventData('cannot mail {event.type} {event.id}: verify_url: "
        "Value error, a link must be an absolute http(s) URL')"
    )
    assert await delivery_rows(sessions) == []
    assert await inbox_count(sessions) == 0
    assert read_messages(mail_dir) == []
    assert f"gave up on {event.type} {event.id} after 3 attempts" in our_log(caplog)
    assert good.data["token"] not in our_log(caplog)


async def test_other_auth_events_are_not_consumed(
    sessions: Sessions,
    mail_dir: Path,
    clock: FixedClock,
    inprocess_bus: Callable[..., InProcessBus],
) -> None:
    bus = await started_bus(inprocess_bus, sessions, FileMailer(mail_dir, clock=clock), clock)

    await bus.publish(
        new_event(
            type="roadbed.auth.user.registered.v1",
            source="/auth",
            data={"user_id": "u", "email": "ada@example.com", "display_name": "Ada"},
        )
    )
    await bus.drain()

    assert await inbox_count(sessions) == 0
    assert read_messages(mail_dir) == []
