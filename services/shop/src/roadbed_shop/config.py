"""The shop service's typed settings (``ROADBED_SHOP_*``), read once at start."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from roadbed_core.settings import ServiceSettings


class ShopSettings(ServiceSettings):
    service_name = "shop"
    model_config = SettingsConfigDict(env_prefix="ROADBED_SHOP_", extra="ignore", frozen=True)


@lru_cache(maxsize=1)
def get_settings() -> ShopSettings:
    return ShopSettings()
