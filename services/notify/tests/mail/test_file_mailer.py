"""The embedded mailer: one parseable .eml per message, named by time, written atomically."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roadbed_notify.mail.mailer import FileMailer, MailerError
from roadbed_notify.mail.message import build_message
from roadbed_notify.mail.templates import render_event

from ..support import (
    SENDER,
    FixedClock,
    bodies,
    duplicate_registration,
    read_messages,
    verification_requested,
)


async def test_writes_one_parseable_eml_per_message_in_time_order(
    mail_dir: Path, clock: FixedClock
) -> None:
    # given a mailer whose folder does not exist yet, and two messages
    mailer = FileMailer(mail_dir, clock=clock)
    first = render_event(verification_requested(email="ada@example.com"))
    second = render_event(
        duplicate_registration(email="grace@example.com", display_name="Grace Hopper")
    )
    queued = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)

    # when they are sent a microsecond apart
    await mailer.send(build_message(second, sender=SENDER, delivery_id=uuid.uuid4(), date=queued))
    clock.advance(microseconds=1)
    await mailer.send(build_message(first, sender=SENDER, delivery_id=uuid.uuid4(), date=queued))

    # then there are exactly two .eml files, named by write time, nothing else left behind
    names = sorted(path.name for path in mail_dir.iterdir())
    assert [name[:23] for name in names] == ["20261125T143000123456Z-", "20261125T143000123457Z-"]
    assert all(name.endswith(".eml") and len(name) == 39 for name in names)
    messages = read_messages(mail_dir)
    assert [m["To"] for m in messages] == [
        "Grace Hopper <grace@example.com>",
        "Ada Lovelace <ada@example.com>",
    ]
    assert [m["Subject"] for m in messages] == [second.subject, first.subject]
    assert bodies(messages[1]) == (first.text, first.html)


async def test_an_unwritable_folder_is_a_mailer_error(tmp_path: Path) -> None:
    # given a "folder" that is in fact a file
    blocked = tmp_path / "mail"
    blocked.write_text("not a folder")
    mailer = FileMailer(blocked)
    message = build_message(
        render_event(verification_requested()),
        sender=SENDER,
        delivery_id=uuid.uuid4(),
        date=datetime(2026, 11, 25, tzinfo=UTC),
    )

    # when a message is sent, then the mailer reports it without leaving anything behind
    with pytest.raises(MailerError, match=r"^could not write a message into .*/mail: "):
        await mailer.send(message)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mail"]
