"""Typed, validated 12-factor settings.

Each service subclasses :class:`ServiceSettings` with its own env prefix
(``ROADBED_AUTH_``, ``ROADBED_SHOP_``, ...). ``ROADBED_ENV`` is shared by all of them. In
``prod`` a process refuses to start while any secret still holds a development placeholder.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Every development default secret starts with this, so prod can recognise and refuse it.
DEV_SECRET_PREFIX = "insecure-dev-"  # noqa: S105 - a marker prefix, not a secret


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class InsecureSettingsError(RuntimeError):
    """A production process was configured with a development placeholder secret.

    Not a ``ValueError``: pydantic wraps those (raised in validators) into a ``ValidationError``,
    and ``except InsecureSettingsError`` would never match.
    """


def var_dir() -> Path:
    """Where embedded mode keeps its state (SQLite files, mail): ``ROADBED_VAR_DIR`` or ``./var``."""
    return Path(os.environ.get("ROADBED_VAR_DIR", "var")).resolve()


def dev_secret(name: str) -> SecretStr:
    return SecretStr(f"{DEV_SECRET_PREFIX}{name}")


def sqlite_url(service: str) -> str:
    """Default embedded database: ``var/<service>.db`` (engines pick the driver they need)."""
    return f"sqlite:///{var_dir() / f'{service}.db'}"


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set ``service_name`` and ``model_config``'s prefix."""

    service_name: ClassVar[str] = "roadbed"

    # populate_by_name: ``Settings(env="prod")`` works in code, while the environment is only
    # read through the prefixed alias (a bare ``ENV``/``PUBLIC_ORIGIN`` variable is not ours).
    model_config = SettingsConfigDict(
        env_prefix="ROADBED_", extra="ignore", frozen=True, populate_by_name=True
    )

    env: Environment = Field(default=Environment.DEV, validation_alias="ROADBED_ENV")
    #: Public origin the services are reached at (issuer and links are built from it).
    public_origin: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias="ROADBED_PUBLIC_ORIGIN",
    )
    #: ``None`` means the embedded SQLite file ``var/<service>.db``; ``postgresql://...`` in production.
    database_url: str | None = None
    log_level: str = "INFO"
    #: ``None`` means: JSON in prod, human-readable elsewhere.
    log_json: bool | None = None
    #: ``None`` means the in-process cache (embedded); ``redis://...`` in production.
    cache_url: str | None = None
    #: ``None`` means the in-process bus (embedded); ``amqp://...`` in production.
    amqp_url: str | None = None
    #: The durable topic exchange every service publishes to and consumes from.
    amqp_exchange: str = "roadbed.events"
    secret_key: SecretStr = dev_secret("secret-key")

    @property
    def is_prod(self) -> bool:
        return self.env is Environment.PROD

    @property
    def json_logs(self) -> bool:
        return self.is_prod if self.log_json is None else self.log_json

    @property
    def database(self) -> str:
        """The database URL in effect (driver-neutral: engines choose their driver)."""
        return self.database_url or sqlite_url(self.service_name)

    @property
    def issuer(self) -> str:
        return f"{self.public_origin.rstrip('/')}/auth"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets_in_prod(self) -> Self:
        if not self.is_prod:
            return self
        prefix = self.model_config.get("env_prefix", "")
        offending = [
            f"{prefix}{name}".upper()
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), SecretStr)
            and (
                value.get_secret_value().startswith(DEV_SECRET_PREFIX)
                or not value.get_secret_value()
            )
        ]
        if offending:
            raise InsecureSettingsError(
                "refusing to start with ROADBED_ENV=prod: set real values for "
                + ", ".join(sorted(offending))
                + " (they still hold development placeholders)"
            )
        return self
