"""The blog's readiness checks: its database, its cache and, in production, the broker."""

from __future__ import annotations

from roadbed_blog.config import get_settings
from roadbed_core.cache import cache_from_url
from roadbed_core.health import HealthRegistry, amqp_check, cache_check
from roadbed_core.integrations.django import django_db_check


def _build() -> HealthRegistry:
    settings = get_settings()
    registry = HealthRegistry(settings.service_name)
    registry.add("database", django_db_check())
    registry.add("cache", cache_check(cache_from_url(settings.cache_url)))
    if settings.amqp_url is not None:
        registry.add("broker", amqp_check(settings.amqp_url))
    return registry


health = _build()
