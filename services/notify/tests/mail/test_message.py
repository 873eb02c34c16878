"""A rendered email becomes a standard multipart message with stable identity headers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.headerregistry import Address

from roadbed_notify.mail.message import build_message
from roadbed_notify.mail.templates import RenderedEmail, render_event

from ..support import SENDER, bodies, parse_message, verification_requested

DELIVERY_ID = uuid.UUID("5d0c6f0e-8d0b-4a43-9b4e-1f2f3a4b5c6d")
QUEUED_AT = datetime(2026, 11, 25, 14, 30, 5, tzinfo=UTC)


def test_message_carries_both_parts_and_identity_headers() -> None:
    # given a rendered verification email
    email = render_event(verification_requested())

    # when it becomes a message
    raw = build_message(email, sender=SENDER, delivery_id=DELIVERY_ID, date=QUEUED_AT).as_bytes()

    # then the wire form uses CRLF and parses back to the same content
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    message = parse_message(raw)
    assert message["From"] == "Roadbed <no-reply@roadbed.example>"
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message["Subject"] == "Confirm your email address for Roadbed"
    assert message["Date"] == "Wed, 25 Nov 2026 14:30:05 +0000"
    assert message["Message-ID"] == f"<{DELIVERY_ID}@roadbed.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert bodies(message) == (email.text, email.html)


def test_links_stay_verbatim_in_the_raw_message() -> None:
    # given an email whose link line is longer than 78 characters
    event = verification_requested()
    email = render_event(event)

    # when it becomes a message
    raw = build_message(email, sender=SENDER, delivery_id=DELIVERY_ID, date=QUEUED_AT).as_bytes()

    # then both parts travel as 7bit and the link can be copied from the file as it is
    message = parse_message(raw)
    assert [part["Content-Transfer-Encoding"] for part in message.iter_parts()] == ["7bit", "7bit"]
    assert f"\r\n{event.data['verify_url']}\r\n".encode() in raw


def test_a_line_over_998_octets_is_quoted_printable() -> None:
    email = RenderedEmail(
        template="auth.email_verification",
        recipient=Address("Ada", "ada", "example.com"),
        subject="Long",
        text="x" * 999 + "\n",
        html="<p>short</p>\n",
    )

    message = build_message(email, sender=SENDER, delivery_id=DELIVERY_ID, date=QUEUED_AT)

    assert [part["Content-Transfer-Encoding"] for part in message.iter_parts()] == [
        "quoted-printable",
        "7bit",
    ]
    assert bodies(parse_message(message.as_bytes())) == (email.text, email.html)


def test_non_ascii_names_and_subjects_are_encoded_words() -> None:
    email = RenderedEmail(
        template="auth.email_verification",
        recipient=Address("Zoë Ærø", "zoe", "example.com"),
        subject="Bestätigen",
        text="Grüße\n",
        html="<p>Grüße</p>\n",
    )

    raw = build_message(email, sender=SENDER, delivery_id=DELIVERY_ID, date=QUEUED_AT).as_bytes()

    assert raw.isascii()  # RFC 2047 words in the headers, quoted-printable bodies
    message = parse_message(raw)
    assert (message["To"], message["Subject"]) == ("Zoë Ærø <zoe@example.com>", "Bestätigen")
    assert bodies(message) == ("Grüße\n", "<p>Grüße</p>\n")


def test_an_internationalised_address_uses_utf8_headers() -> None:
    email = RenderedEmail(
        template="auth.email_verification",
        recipient=Address("", "zoë", "exämple.com"),
        subject="Hello",
        text="Hi\n",
        html="<p>Hi</p>\n",
    )

    raw = build_message(email, sender=SENDER, delivery_id=DELIVERY_ID, date=QUEUED_AT).as_bytes()

    assert "To: zoë@exämple.com\r\n".encode() in raw
