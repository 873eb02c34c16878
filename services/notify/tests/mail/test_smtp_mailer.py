"""The production mailer against a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from pydantic import SecretStr

from roadbed_notify.mail.mailer import MailerError, SmtpMailer
from roadbed_notify.mail.message import build_message
from roadbed_notify.mail.templates import RenderedEmail, render_event

from ..support import (
    SENDER,
    RecordingHandler,
    SmtpServer,
    bodies,
    password_authenticator,
    running_smtp_server,
    self_signed_tls,
    verification_requested,
)


def message_of(email: RenderedEmail) -> EmailMessage:
    return build_message(
        email, sender=SENDER, delivery_id=uuid.uuid4(), date=datetime(2026, 11, 25, tzinfo=UTC)
    )


def verification_message() -> EmailMessage:
    return message_of(render_event(verification_requested()))


async def test_sends_the_message_to_the_server(smtp_server: SmtpServer) -> None:
    # given a mailer for a plain local relay
    mailer = SmtpMailer(host=smtp_server.host, port=smtp_server.port, starttls=False)
    email = render_event(verification_requested())
    message = message_of(email)

    # when it sends a message
    await mailer.send(message)

    # then the server received exactly it, with the envelope taken from the headers
    [(mail_from, recipients, received)] = smtp_server.handler.received
    assert (mail_from, recipients) == ("no-reply@roadbed.example", ["ada@example.com"])
    assert received["Message-ID"] == message["Message-ID"]
    assert received["Subject"] == email.subject
    assert bodies(received) == (email.text, email.html)


async def test_starttls_then_login_then_send(tmp_path: Path) -> None:
    # given a server that requires STARTTLS before AUTH, with a certificate the client trusts
    tls = self_signed_tls(tmp_path)
    handler = RecordingHandler()
    with running_smtp_server(
        handler,
        tls_context=tls.server,
        require_starttls=True,
        auth_required=True,
        authenticator=password_authenticator("notify", "relay password"),
    ) as server:
        mailer = SmtpMailer(
            host=server.host,
            port=server.port,
            username="notify",
            password=SecretStr("relay password"),
            starttls=True,
            tls_context=tls.client,
        )
        email = render_event(verification_requested())

        # when it sends
        await mailer.send(message_of(email))

    # then the message went through the encrypted, authenticated session
    assert [received["Subject"] for _, _, received in handler.received] == [email.subject]


async def test_wrong_credentials_are_a_mailer_error(tmp_path: Path) -> None:
    tls = self_signed_tls(tmp_path)
    handler = RecordingHandler()
    with running_smtp_server(
        handler,
        tls_context=tls.server,
        require_starttls=True,
        auth_required=True,
        authenticator=password_authenticator("notify", "relay password"),
    ) as server:
        mailer = SmtpMailer(
            host=server.host,
            port=server.port,
            username="notify",
            password=SecretStr("wrong password"),
            tls_context=tls.client,
        )
        message = verification_message()

        with pytest.raises(MailerError) as caught:
            await mailer.send(message)

    assert str(caught.value).startswith(
        f"SMTP server 127.0.0.1:{server.port} did not accept the message: SMTPAuthenticationError: "
    )
    assert "wrong password" not in str(caught.value)
    assert handler.received == []


async def test_a_server_without_starttls_is_refused_not_used_in_clear(
    smtp_server: SmtpServer,
) -> None:
    # given a mailer that requires STARTTLS and a server that does not offer it
    mailer = SmtpMailer(host=smtp_server.host, port=smtp_server.port, starttls=True)
    message = verification_message()

    # when it sends, then it gives up before any content travels
    with pytest.raises(
        MailerError, match="SMTPNotSupportedError: STARTTLS extension not supported"
    ):
        await mailer.send(message)
    assert smtp_server.handler.received == []


async def test_a_temporary_rejection_is_a_mailer_error() -> None:
    with running_smtp_server(RecordingHandler(refuse=1)) as server:
        mailer = SmtpMailer(host=server.host, port=server.port, starttls=False)
        message = verification_message()

        with pytest.raises(MailerError, match=r"SMTPDataError: \(451, b'4.3.0 Mailbox busy"):
            await mailer.send(message)


async def test_nobody_listening_is_a_mailer_error() -> None:
    with running_smtp_server(RecordingHandler()) as server:
        port = server.port  # free again once the server has stopped
    mailer = SmtpMailer(host="127.0.0.1", port=port, starttls=False, timeout=5)
    message = verification_message()

    with pytest.raises(MailerError, match="ConnectionRefusedError"):
        await mailer.send(message)


def test_credentials_come_in_pairs() -> None:
    with pytest.raises(ValueError, match="both username and password"):
        SmtpMailer(host="smtp.example", port=587, username="notify")
