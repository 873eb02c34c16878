"""The notify service's typed settings (``ROADBED_NOTIFY_*``), read once at start."""

from __future__ import annotations

from email.headerregistry import Address
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from roadbed_core.settings import ServiceSettings, var_dir
from roadbed_notify.mail.address import parse_mailbox


class NotifySettings(ServiceSettings):
    service_name = "notify"
    model_config = SettingsConfigDict(env_prefix="ROADBED_NOTIFY_", extra="ignore", frozen=True)

    #: ``file`` writes each message to ``mail_directory`` (embedded); ``smtp`` hands it to a relay.
    mail_backend: Literal["file", "smtp"] = "file"
    #: The ``From`` mailbox of every message, ``Name <address>`` or a bare address.
    mail_from: str = Field(default="Roadbed <no-reply@roadbed.localhost>", max_length=320)
    #: Where the ``file`` backend writes ``.eml`` files; ``None`` means ``var/mail/``.
    mail_directory: Path | None = None
    smtp_host: str = Field(default="localhost", min_length=1, max_length=253)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = Field(default=None, min_length=1, max_length=320)
    smtp_password: SecretStr | None = None
    #: Upgrade the connection with STARTTLS (and refuse to send if the server cannot).
    smtp_starttls: bool = True
    #: Seconds to wait for the SMTP server on connect and on each command.
    smtp_timeout: float = Field(default=30.0, gt=0, le=300)

    @field_validator("mail_from")
    @classmethod
    def _mail_from_is_one_mailbox(cls, value: str) -> str:
        parse_mailbox(value)
        return value

    @model_validator(mode="after")
    def _smtp_credentials_come_in_pairs(self) -> Self:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("set both smtp_username and smtp_password, or neither")
        return self

    @property
    def sender(self) -> Address:
        return parse_mailbox(self.mail_from)

    @property
    def mail_path(self) -> Path:
        """The folder the ``file`` backend writes to."""
        return self.mail_directory or var_dir() / "mail"


@lru_cache(maxsize=1)
def get_settings() -> NotifySettings:
    return NotifySettings()
