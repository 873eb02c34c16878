"""A realistic auth event through notify's own lifecycle, as ``roadbed up`` wires it: a .eml lands."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_core.db import make_async_engine, make_async_sessionmaker
from roadbed_core.events import InProcessBus, new_event
from roadbed_core.lifecycle import event_plane
from roadbed_notify.config import NotifySettings
from roadbed_notify.lifecycle import build_lifecycle

from .support import (
    bodies,
    delivery_rows,
    inbox_count,
    parse_message,
    password_reset_requested,
    read_messages,
)


async def rows_and_inbox(url: str) -> tuple[list[dict[str, object]], int]:
    engine = make_async_engine(url)
    sessions: async_sessionmaker[AsyncSession] = make_async_sessionmaker(engine)
    try:
        return await delivery_rows(sessions), await inbox_count(sessions)
    finally:
        await engine.dispose()


async def test_email_verification_requested_lands_in_var_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the embedded defaults (SQLite and mail under var/), migrated by the lifecycle
    monkeypatch.setenv("ROADBED_VAR_DIR", str(tmp_path / "var"))
    settings = NotifySettings()
    lifecycle = build_lifecycle(lambda: settings)
    lifecycle.migrate()
    # and the event exactly as auth's registration emits it
    user_id = str(uuid.uuid4())
    token = secrets.token_urlsafe(32)
    verify_url = f"http://127.0.0.1:8000/auth/verify-email?token={token}"
    event = new_event(
        type="roadbed.auth.email_verification.requested.v1",
        source="/auth",
        data={
            "user_id": user_id,
            "email": "ada@example.com",
            "display_name": "Ada Lovelace",
            "token": token,
            "verify_url": verify_url,
            "expires_at": (datetime.now(UTC) + timedelta(hours=24)).isoformat(),
        },
        subject=user_id,
    )

    # when it is published while the event plane runs (leaving it drains the bus)
    bus = InProcessBus()
    async with event_plane([lifecycle], bus, relays=False):
        await bus.publish(event)

    # then exactly one message is in var/mail, addressed and linked as it should be
    [path] = sorted((tmp_path / "var" / "mail").iterdir())
    assert path.suffix == ".eml"
    raw = path.read_bytes()
    assert f"\r\n{verify_url}\r\n".encode() in raw  # copyable straight from the file
    message = parse_message(raw)
    assert message["From"] == "Roadbed <no-reply@roadbed.localhost>"
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message["Subject"] == "Confirm your email address for Roadbed"
    text, html = bodies(message)
    assert f"\n\n{verify_url}\n\n" in text
    assert f'<a href="{verify_url}">Confirm my email address</a>' in html
    # and the database under var/ holds the sent delivery and the inbox row
    [row], inbox_rows = await rows_and_inbox(settings.database)
    assert settings.database == f"sqlite:///{tmp_path / 'var' / 'notify.db'}"
    assert (row["event_id"], row["status"], row["recipient"]) == (
        event.id,
        "sent",
        "ada@example.com",
    )
    assert message["Message-ID"] == f"<{row['id']}@roadbed.localhost>"
    assert inbox_rows == 1
    assert bus.dead_letters == ()


async def test_the_lifecycle_runtime_works_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    # given production-style settings: PostgreSQL and an explicit mail folder
    settings = NotifySettings(database_url=postgres_url, mail_directory=tmp_path / "outgoing")
    lifecycle = build_lifecycle(lambda: settings)
    lifecycle.migrate()
    event = password_reset_requested()

    # when the event is delivered twice through the lifecycle's consumers
    bus = InProcessBus()
    async with event_plane([lifecycle], bus, relays=False):
        await bus.publish(event)
        await bus.publish(event)

    # then one message was written and one row recorded as sent
    [message] = read_messages(tmp_path / "outgoing")
    assert (message["To"], message["Subject"]) == (
        "Ada Lovelace <ada@example.com>",
        "Reset your Roadbed password",
    )
    [row], inbox_rows = await rows_and_inbox(postgres_url)
    assert (row["event_id"], row["status"], row["attempts"]) == (event.id, "sent", 1)
    assert inbox_rows == 1
    assert bus.dead_letters == ()
