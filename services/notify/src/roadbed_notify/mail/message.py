"""Turning rendered content into an RFC 5322 message."""

from __future__ import annotations

import uuid
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage

from roadbed_notify.mail.address import is_ascii
from roadbed_notify.mail.templates import RenderedEmail

#: RFC 5322's hard limit on a line, CRLF excluded.
MAX_LINE_OCTETS = 998


def transfer_encoding(content: str) -> str:
    """``7bit`` whenever the content allows it, else quoted-printable.

    Python would pick quoted-printable for any line over 78 characters, which soft-wraps the links
    and turns every ``=`` into ``=3D``: a ``var/mail/*.eml`` opened in an editor would no longer
    show a link one can copy. 78 is a recommendation; 998 octets is the limit.
    """
    fits = all(len(line.encode()) <= MAX_LINE_OCTETS for line in content.splitlines())
    return "7bit" if fits and content.isascii() else "quoted-printable"


def message_id(delivery_id: uuid.UUID, *, sender: Address) -> str:
    """A ``Message-ID`` fixed per delivery, so a resent message is recognisably the same one."""
    return f"<{delivery_id}@{sender.domain}>"


def build_message(
    email: RenderedEmail, *, sender: Address, delivery_id: uuid.UUID, date: datetime
) -> EmailMessage:
    """A ``multipart/alternative`` message (plain text first, HTML second) with CRLF line ends.

    Addresses with non-ASCII local parts need RFC 6532 (SMTPUTF8) headers; everything else stays
    plain RFC 5322 with RFC 2047 encoded words for non-ASCII names and subjects.
    """
    ascii_only = is_ascii(sender) and is_ascii(email.recipient)
    message = EmailMessage(policy=policy.SMTP if ascii_only else policy.SMTPUTF8)
    message["From"] = sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Date"] = date
    message["Message-ID"] = message_id(delivery_id, sender=sender)
    # RFC 3834: an automatic message; well-behaved autoresponders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text, cte=transfer_encoding(email.text))
    message.add_alternative(email.html, subtype="html", cte=transfer_encoding(email.html))
    return message
