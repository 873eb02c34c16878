"""The blog's typed settings (``ROADBED_BLOG_*``), read once at start."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from roadbed_core.settings import ServiceSettings, dev_secret


class BlogSettings(ServiceSettings):
    service_name = "blog"
    model_config = SettingsConfigDict(env_prefix="ROADBED_BLOG_", extra="ignore", frozen=True)

    #: Django's own SECRET_KEY (sessions, CSRF, admin).
    django_secret_key: SecretStr = dev_secret("blog-django-secret-key")
    #: Set explicitly in production (JSON list); the default covers loopback and test clients.
    allowed_hosts: list[str] = ["127.0.0.1", "localhost", "[::1]", "testserver"]
    #: ``None``: Django's local-memory cache (embedded); ``host:port`` of Memcached in production.
    memcached_location: str | None = None


@lru_cache(maxsize=1)
def get_settings() -> BlogSettings:
    return BlogSettings()
