"""Notify's settings: mail backend choice, a valid sender, SMTP credentials in pairs."""

from __future__ import annotations

from email.headerregistry import Address
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from roadbed_core.settings import InsecureSettingsError
from roadbed_notify.config import NotifySettings
from roadbed_notify.mail.mailer import FileMailer, SmtpMailer, mailer_from_settings


def test_the_default_is_files_under_var_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROADBED_VAR_DIR", str(tmp_path))

    settings = NotifySettings()
    mailer = mailer_from_settings(settings)

    assert isinstance(mailer, FileMailer)
    assert mailer.directory == tmp_path / "mail"
    assert settings.sender == Address("Roadbed", "no-reply", "roadbed.localhost")


def test_smtp_is_configured_from_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_NOTIFY_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("ROADBED_NOTIFY_MAIL_FROM", "Roadbed Accounts <accounts@roadbed.example>")
    monkeypatch.setenv("ROADBED_NOTIFY_SMTP_HOST", "smtp.roadbed.example")
    monkeypatch.setenv("ROADBED_NOTIFY_SMTP_PORT", "2525")
    monkeypatch.setenv("ROADBED_NOTIFY_SMTP_USERNAME", "notify")
    monkeypatch.setenv("ROADBED_NOTIFY_SMTP_PASSWORD", "relay password")
    monkeypatch.setenv("ROADBED_NOTIFY_SMTP_STARTTLS", "false")

    settings = NotifySettings()

    assert isinstance(mailer_from_settings(settings), SmtpMailer)
    assert settings.sender == Address("Roadbed Accounts", "accounts", "roadbed.example")
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (
        "smtp.roadbed.example",
        2525,
        False,
    )
    assert settings.smtp_password == SecretStr("relay password")
    assert "relay password" not in repr(settings)


@pytest.mark.parametrize(
    "mail_from",
    ["not an address", "a@b.example, c@d.example", "Roadbed <x@y.example>\r\nBcc: eve@example.com"],
)
def test_the_sender_must_be_one_mailbox(mail_from: str) -> None:
    with pytest.raises(ValidationError, match="mail_from"):
        NotifySettings(mail_from=mail_from)


def test_smtp_credentials_come_in_pairs() -> None:
    with pytest.raises(ValidationError, match="set both smtp_username and smtp_password"):
        NotifySettings(smtp_username="notify")


def test_production_refuses_an_empty_smtp_password() -> None:
    with pytest.raises(InsecureSettingsError, match="ROADBED_NOTIFY_SMTP_PASSWORD"):
        NotifySettings(
            env="prod",
            secret_key=SecretStr("a real production secret"),
            smtp_username="notify",
            smtp_password=SecretStr(""),
        )
