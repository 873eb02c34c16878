"""The auth service's typed settings (``ROADBED_AUTH_*``), read once at start."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from roadbed_core.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    service_name = "auth"
    model_config = SettingsConfigDict(env_prefix="ROADBED_AUTH_", extra="ignore", frozen=True)


@lru_cache(maxsize=1)
def get_settings() -> AuthSettings:
    return AuthSettings()
