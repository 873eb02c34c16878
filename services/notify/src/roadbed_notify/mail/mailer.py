"""Mailers: where a finished message goes. Files in embedded mode, an SMTP relay in production.

A mailer either takes the message or raises :class:`MailerError` (the consumer then records the
failure and lets the bus retry). Neither mailer logs message content: bodies carry links with
single-use tokens.
"""

from __future__ import annotations

import asyncio
import os
import smtplib
import ssl
import tempfile
import uuid
from datetime import UTC
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from roadbed_notify.clock import Clock, utc_now
from roadbed_notify.config import NotifySettings


class MailerError(Exception):
    """The message was not accepted; retrying later may succeed."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand over ``message`` (its headers name sender and recipients) or raise MailerError."""
        ...


class FileMailer:
    """Writes each message as an RFC 5322 ``.eml`` file into ``directory`` (embedded mode).

    File names start with the write time (``20261125T143000123456Z-<random>.eml``), so a plain
    ``ls`` lists them oldest first. Each file is written under a temporary name in the same folder
    and renamed into place, so a reader never sees half a message.
    """

    def __init__(self, directory: Path, *, clock: Clock = utc_now) -> None:
        self._directory = directory
        self._clock = clock

    @property
    def directory(self) -> Path:
        return self._directory

    async def send(self, message: EmailMessage) -> None:
        try:
            await asyncio.to_thread(self._write, message.as_bytes())
        except OSError as exc:
            raise MailerError(f"could not write a message into {self._directory}: {exc}") from exc

    def _write(self, content: bytes) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        name = f"{self._clock().astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:12]}.eml"
        target = self._directory / name
        handle, temporary = tempfile.mkstemp(dir=self._directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class SmtpMailer:
    """Sends through an SMTP relay with the standard library, one connection per message.

    ``smtplib`` blocks, so each send runs in a worker thread; the bus's prefetch bounds how many
    run at once. With ``starttls`` the connection is upgraded (certificate verified) before any
    credentials or content travel, and a server that cannot do STARTTLS is an error, never a
    silent downgrade.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: SecretStr | None = None,
        starttls: bool = True,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("pass both username and password, or neither")
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout
        self._tls_context = tls_context

    async def send(self, message: EmailMessage) -> None:
        try:
            await asyncio.to_thread(self._send_blocking, message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailerError(
                f"SMTP server {self._host}:{self._port} did not accept the message: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _send_blocking(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as client:
            if self._starttls:
                client.starttls(context=self._tls_context or ssl.create_default_context())
            if self._username is not None and self._password is not None:
                client.login(self._username, self._password.get_secret_value())
            client.send_message(message)


def mailer_from_settings(settings: NotifySettings) -> Mailer:
    """The mailer the settings ask for: ``var/mail/`` files by default, SMTP in production."""
    if settings.mail_backend == "smtp":
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
    return FileMailer(settings.mail_path)
