"""Outbox and inbox tables for Django services: the same shape as the SQLAlchemy ones."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class OutboxEvent(models.Model):
    """One event waiting for (or done with) the relay. ``id`` is the event id."""

    id = models.UUIDField(primary_key=True)
    type = models.CharField(max_length=255)
    payload = models.TextField()
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    # Declared so type checkers see it even where this app is not in the checked INSTALLED_APPS.
    objects: ClassVar[models.Manager[OutboxEvent]] = models.Manager()

    class Meta:
        app_label = "roadbed_outbox"
        db_table = "roadbed_event_outbox"
        indexes = [
            # Exactly what the relay scans: pending rows in creation order.
            models.Index(
                fields=["created_at", "id"],
                name="roadbed_outbox_pending",
                condition=models.Q(published_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class InboxEvent(models.Model):
    """An event a consumer group has processed; the composite key makes duplicates fail."""

    pk = models.CompositePrimaryKey("consumer", "event_id")
    consumer = models.CharField(max_length=200)
    event_id = models.UUIDField()
    processed_at = models.DateTimeField()

    objects: ClassVar[models.Manager[InboxEvent]] = models.Manager()

    class Meta:
        app_label = "roadbed_outbox"
        db_table = "roadbed_event_inbox"

    def __str__(self) -> str:
        return f"{self.consumer} {self.event_id}"
