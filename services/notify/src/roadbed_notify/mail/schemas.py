"""The ``data`` of the events notify mails from, as it arrives (bounded and checked).

Producers are ours, but a consumer still validates what it puts into headers and HTML: a display
name with a line break or a ``javascript:`` link must not become part of a message. Fields a
template does not need (the bare ``token`` among them) are ignored, never stored.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from roadbed_notify.mail.address import MAX_ADDRESS_LENGTH, mailbox

MAX_LINK_LENGTH = 2048


def _single_line(value: str) -> str:
    """Control characters (line breaks, tabs, escapes) become spaces; runs of spaces become one."""
    line = " ".join(
        "".join(" " if ord(c) < 32 or 127 <= ord(c) < 160 else c for c in value).split()
    )
    if not line:
        raise ValueError("a display name needs at least one visible character")
    return line


def _bare_address(value: str) -> str:
    mailbox(display_name="", addr_spec=value)
    return value


def _web_link(value: str) -> str:
    if any(c.isspace() or ord(c) < 32 or c in '"<>\\' for c in value):
        raise ValueError(
            "a link cannot contain spaces, control characters, quotes or angle brackets"
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("a link must be an absolute http(s) URL")
    return value


DisplayName = Annotated[str, Field(max_length=200), AfterValidator(_single_line)]
EmailAddress = Annotated[
    str, Field(min_length=3, max_length=MAX_ADDRESS_LENGTH), AfterValidator(_bare_address)
]
WebLink = Annotated[str, Field(max_length=MAX_LINK_LENGTH), AfterValidator(_web_link)]


class AccountEmailData(BaseModel):
    """Who an account email goes to: every auth account event carries these."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    email: EmailAddress
    display_name: DisplayName


class EmailVerificationRequested(AccountEmailData):
    """``roadbed.auth.email_verification.requested.v1``."""

    verify_url: WebLink
    expires_at: AwareDatetime


class PasswordResetRequested(AccountEmailData):
    """``roadbed.auth.password_reset.requested.v1``."""

    reset_url: WebLink
    expires_at: AwareDatetime


class DuplicateRegistrationAttempted(AccountEmailData):
    """``roadbed.auth.registration.duplicate_attempted.v1``: someone registered a taken address."""
