"""The notify service's typed settings (``ROADBED_NOTIFY_*``), read once at start."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from roadbed_core.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    service_name = "notify"
    model_config = SettingsConfigDict(env_prefix="ROADBED_NOTIFY_", extra="ignore", frozen=True)


@lru_cache(maxsize=1)
def get_settings() -> NotifySettings:
    return NotifySettings()
