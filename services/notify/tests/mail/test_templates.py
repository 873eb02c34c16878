"""Each auth event renders to exactly the email it should, and nothing it carries is trusted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email.headerregistry import Address

import pytest

from roadbed_notify.mail.templates import InvalidEventData, render_event

from ..support import (
    duplicate_registration,
    password_reset_requested,
    verification_requested,
)

TOKEN = "Qm9hcmQtd2Fsay1fZXhhbXBsZS10b2tlbi0xMjM0NTY"
EXPIRES = datetime(2026, 11, 26, 14, 30, tzinfo=UTC)
FOOTER = "This message was sent automatically by Roadbed; replies are not read."


def html_page(title: str, greeting: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n"
        "</head>\n"
        '<body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a;">\n'
        f"<p>Hello {greeting},</p>\n"
        f"{body}"
        f'<p style="color: #555555;">{FOOTER}</p>\n'
        "</body>\n"
        "</html>\n"
    )


def test_email_verification_renders_subject_text_and_html() -> None:
    # given the event auth emits on registration
    event = verification_requested(token=TOKEN, expires_at=EXPIRES)
    link = f"http://127.0.0.1:8000/auth/verify-email?token={TOKEN}"

    # when it is rendered
    email = render_event(event)

    # then every part is exactly as designed
    assert email.template == "auth.email_verification"
    assert email.recipient == Address("Ada Lovelace", "ada", "example.com")
    assert email.subject == "Confirm your email address for Roadbed"
    assert email.text == (
        "Hello Ada Lovelace,\n\n"
        "Please confirm your email address by opening this link:\n\n"
        f"{link}\n\n"
        "The link works once and expires on 2026-11-26 14:30 UTC.\n\n"
        "If you did not create a Roadbed account, you can ignore this message.\n\n"
        f"{FOOTER}\n"
    )
    assert email.html == html_page(
        "Confirm your email address for Roadbed",
        "Ada Lovelace",
        "<p>Please confirm your email address by opening this link:</p>\n"
        f'<p><a href="{link}">Confirm my email address</a></p>\n'
        "<p>If the link does not open, copy this address into your browser:<br>"
        f"{link}</p>\n"
        "<p>The link works once and expires on 2026-11-26 14:30 UTC.</p>\n"
        "<p>If you did not create a Roadbed account, you can ignore this message.</p>\n",
    )


def test_password_reset_renders_subject_text_and_html() -> None:
    event = password_reset_requested(token=TOKEN, expires_at=EXPIRES)
    link = f"http://127.0.0.1:8000/auth/reset-password?token={TOKEN}"

    email = render_event(event)

    assert email.template == "auth.password_reset"
    assert email.recipient == Address("Ada Lovelace", "ada", "example.com")
    assert email.subject == "Reset your Roadbed password"
    assert email.text == (
        "Hello Ada Lovelace,\n\n"
        "Someone asked to reset the password of your Roadbed account. "
        "To choose a new password, open this link:\n\n"
        f"{link}\n\n"
        "The link works once and expires on 2026-11-26 14:30 UTC.\n\n"
        "If you did not ask for this, you can ignore this message: "
        "your password stays as it is.\n\n"
        f"{FOOTER}\n"
    )
    assert email.html == html_page(
        "Reset your Roadbed password",
        "Ada Lovelace",
        "<p>Someone asked to reset the password of your Roadbed account. "
        "To choose a new password, open this link:</p>\n"
        f'<p><a href="{link}">Choose a new password</a></p>\n'
        "<p>If the link does not open, copy this address into your browser:<br>"
        f"{link}</p>\n"
        "<p>The link works once and expires on 2026-11-26 14:30 UTC.</p>\n"
        "<p>If you did not ask for this, you can ignore this message: "
        "your password stays as it is.</p>\n",
    )


def test_duplicate_registration_tells_the_owner_what_to_do() -> None:
    email = render_event(duplicate_registration())

    assert email.template == "auth.registration_duplicate"
    assert email.recipient == Address("Ada Lovelace", "ada", "example.com")
    assert email.subject == "Someone tried to register with your email address"
    assert email.text == (
        "Hello Ada Lovelace,\n\n"
        "Someone tried to register a new Roadbed account with your email address, "
        "which already has an account.\n\n"
        "If it was you, sign in with your existing password, "
        "or reset your password if you have forgotten it.\n\n"
        "If it was not you, you can ignore this message: nothing has changed on your account.\n\n"
        f"{FOOTER}\n"
    )
    assert email.html == html_page(
        "Someone tried to register with your email address",
        "Ada Lovelace",
        "<p>Someone tried to register a new Roadbed account with your email address, "
        "which already has an account.</p>\n"
        "<p>If it was you, sign in with your existing password, "
        "or reset your password if you have forgotten it.</p>\n"
        "<p>If it was not you, you can ignore this message: "
        "nothing has changed on your account.</p>\n",
    )


def test_html_escapes_what_it_interpolates_and_text_keeps_it_verbatim() -> None:
    # given a display name written to break out of HTML, and a link with two query parameters
    hostile = "<script>alert(\"x\")</script> & 'Bob'"
    event = verification_requested(display_name=hostile, token=f"{TOKEN}&lang=en")

    # when it is rendered
    email = render_event(event)

    # then the HTML carries only escaped text (also inside the href), the text part the original
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;Bob&#39;"
    assert f"<p>Hello {escaped},</p>" in email.html
    assert "<script>" not in email.html
    assert f'href="http://127.0.0.1:8000/auth/verify-email?token={TOKEN}&amp;lang=en"' in email.html
    assert email.text.startswith(f"Hello {hostile},\n")
    assert email.recipient.display_name == hostile


def test_line_breaks_in_a_display_name_become_spaces() -> None:
    email = render_event(duplicate_registration(display_name="Ada\r\nBcc: eve@example.com\t "))

    assert email.recipient == Address("Ada Bcc: eve@example.com", "ada", "example.com")
    assert email.text.startswith("Hello Ada Bcc: eve@example.com,\n")


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        (
            "verify_url",
            "javascript:alert(1)//?token=SECRET",
            "verify_url: Value error, a link must be an absolute http(s) URL",
        ),
        (
            "verify_url",
            'https://x.test/?token=SECRET"onclick=',
            "verify_url: Value error, a link cannot contain spaces, control characters, quotes or angle brackets",
        ),
        (
            "email",
            "not-an-address-SECRET",
            "email: Value error, not a valid mailbox: addr-spec local part with no domain",
        ),
        ("email", "Eve <eve@example.com>", "email: Value error, expected a bare address"),
        ("expires_at", "2026-11-26T14:30:00", "expires_at: Input should have timezone info"),
        (
            "display_name",
            "\n\t",
            "display_name: Value error, a display name needs at least one visible character",
        ),
    ],
)
def test_invalid_data_is_refused_without_echoing_values(
    field: str, value: str, problem: str
) -> None:
    # given an event whose data breaks one rule (values carry a token-like marker)
    good = verification_requested(token="SECRET-TOKEN-VALUE")
    event = replace(good, data={**good.data, field: value})

    # when it is rendered, then the error names the field and the rule, never a value
    with pytest.raises(InvalidEventData) as caught:
        render_event(event)
    assert str(caught.value) == f"cannot mail {event.type} {event.id}: {problem}"
    assert "SECRET" not in str(caught.value)


def test_missing_fields_are_named() -> None:
    good = password_reset_requested()
    event = replace(good, data={"email": "a@b.test"})

    with pytest.raises(InvalidEventData) as caught:
        render_event(event)

    assert str(caught.value) == (
        f"cannot mail {event.type} {event.id}: display_name: Field required; "
        "reset_url: Field required; expires_at: Field required"
    )
