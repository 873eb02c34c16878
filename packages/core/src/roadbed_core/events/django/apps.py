"""App config of the Django outbox (label ``roadbed_outbox``)."""

from __future__ import annotations

from django.apps import AppConfig


class RoadbedOutboxConfig(AppConfig):
    name = "roadbed_core.events.django"
    label = "roadbed_outbox"
    verbose_name = "Roadbed event outbox"
    default_auto_field = "django.db.models.BigAutoField"
