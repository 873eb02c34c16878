"""Builders and real stand-ins shared by the notify tests.

Events are built with ``new_event`` exactly as auth's ``_emit`` builds them. The SMTP server is a
real one (aiosmtpd on a loopback port): the only thing it stands in for is a remote relay.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import secrets
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_core.events import CloudEvent, new_event
from roadbed_notify.tables import deliveries, inbox

ORIGIN = "http://127.0.0.1:8000"
#: An upper bound for waiting on a delivery; reaching it means the test failed, not "slow".
WAIT_SECONDS = 10.0
START = datetime(2026, 11, 25, 14, 30, 0, 123456, tzinfo=UTC)
#: The From mailbox the tests send as.
SENDER = Address("Roadbed", "no-reply", "roadbed.example")


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# --- events, as auth emits them -----------------------------------------------------------------


def _account(email: str, display_name: str) -> dict[str, Any]:
    return {"user_id": str(uuid.uuid4()), "email": email, "display_name": display_name}


def verification_requested(
    *,
    email: str = "ada@example.com",
    display_name: str = "Ada Lovelace",
    token: str | None = None,
    expires_at: datetime = START + timedelta(hours=24),
) -> CloudEvent:
    token = token or secrets.token_urlsafe(32)
    data = _account(email, display_name)
    return new_event(
        type="roadbed.auth.email_verification.requested.v1",
        source="/auth",
        data={
            **data,
            "token": token,
            "verify_url": f"{ORIGIN}/auth/verify-email?token={token}",
            "expires_at": expires_at.isoformat(),
        },
        subject=data["user_id"],
    )


def password_reset_requested(
    *,
    email: str = "ada@example.com",
    display_name: str = "Ada Lovelace",
    token: str | None = None,
    expires_at: datetime = START + timedelta(hours=1),
) -> CloudEvent:
    token = token or secrets.token_urlsafe(32)
    data = _account(email, display_name)
    return new_event(
        type="roadbed.auth.password_reset.requested.v1",
        source="/auth",
        data={
            **data,
            "token": token,
            "reset_url": f"{ORIGIN}/auth/reset-password?token={token}",
            "expires_at": expires_at.isoformat(),
        },
        subject=data["user_id"],
    )


def duplicate_registration(
    *, email: str = "ada@example.com", display_name: str = "Ada Lovelace"
) -> CloudEvent:
    data = _account(email, display_name)
    return new_event(
        type="roadbed.auth.registration.duplicate_attempted.v1",
        source="/auth",
        data=data,
        subject=data["user_id"],
    )


# --- what notify left behind --------------------------------------------------------------------


def read_messages(directory: Path) -> list[EmailMessage]:
    """Every ``.eml`` in ``directory``, in file-name order, parsed."""
    return (
        [parse_message(path.read_bytes()) for path in sorted(directory.glob("*.eml"))]
        if directory.is_dir()
        else []
    )


def parse_message(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML parts' decoded content, with the wire's CRLF read as newlines."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return (
        text.get_content().replace("\r\n", "\n"),
        html.get_content().replace("\r\n", "\n"),
    )


async def delivery_rows(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    async with sessions() as db:
        rows = await db.execute(select(deliveries).order_by(deliveries.c.created_at))
        return [dict(row._mapping) for row in rows]


async def inbox_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as db:
        return (await db.execute(select(func.count()).select_from(inbox))).scalar_one()


# --- a real SMTP server -------------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on right now (aiosmtpd's Controller cannot bind port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RecordingHandler:
    """An aiosmtpd handler that keeps what it accepts; answers 451 to the first ``refuse`` DATAs."""

    refuse: int = 0
    refused: int = 0
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        with self._changed:
            if self.refused < self.refuse:
                self.refused += 1
                return "451 4.3.0 Mailbox busy, try again later"
            assert isinstance(envelope.content, bytes)
            message = parse_message(envelope.content)
            self.received.append((str(envelope.mail_from), list(envelope.rcpt_tos), message))
            self._changed.notify_all()
        return "250 2.0.0 Accepted"

    def _wait_blocking(self, count: int) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= count, WAIT_SECONDS):
                raise TimeoutError(f"{len(self.received)} of {count} messages arrived")

    async def wait_for(self, count: int) -> None:
        await asyncio.to_thread(self._wait_blocking, count)


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler


@contextmanager
def running_smtp_server(handler: RecordingHandler, **smtp_options: Any) -> Iterator[SmtpServer]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **smtp_options)
    controller.start()
    try:
        yield SmtpServer(host="127.0.0.1", port=controller.port, handler=handler)
    finally:
        controller.stop()


@dataclass(frozen=True)
class TlsMaterial:
    server: ssl.SSLContext
    client: ssl.SSLContext


def self_signed_tls(tmp_path: Path) -> TlsMaterial:
    """A certificate for 127.0.0.1, a server context serving it and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "notify test SMTP")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    cert_file.write_bytes(certificate_pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=certificate_pem.decode())
    return TlsMaterial(server=server, client=client)


def password_authenticator(username: str, password: str) -> Any:
    """An aiosmtpd authenticator accepting exactly one LOGIN/PLAIN credential pair."""

    def authenticate(
        server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        accepted = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (username, password)
        return AuthResult(success=accepted, handled=False)

    return authenticate
