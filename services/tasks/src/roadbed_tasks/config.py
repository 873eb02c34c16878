"""The tasks service's typed settings (``ROADBED_TASKS_*``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from roadbed_core.settings import ServiceSettings


class TasksSettings(ServiceSettings):
    service_name = "tasks"
    model_config = SettingsConfigDict(env_prefix="ROADBED_TASKS_", extra="ignore", frozen=True)


@lru_cache(maxsize=1)
def get_settings() -> TasksSettings:
    return TasksSettings()
