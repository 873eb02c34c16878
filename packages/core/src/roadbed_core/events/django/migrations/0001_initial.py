"""Outbox and inbox tables (hand-written; keep in step with ``models.py``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="OutboxEvent",
            fields=[
                ("id", models.UUIDField(primary_key=True, serialize=False)),
                ("type", models.CharField(max_length=255)),
                ("payload", models.TextField()),
                ("created_at", models.DateTimeField()),
                ("published_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
            ],
            options={
                "db_table": "roadbed_event_outbox",
                "indexes": [
                    models.Index(
                        condition=models.Q(("published_at__isnull", True)),
                        fields=["created_at", "id"],
                        name="roadbed_outbox_pending",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="InboxEvent",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "consumer",
                        "event_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("consumer", models.CharField(max_length=200)),
                ("event_id", models.UUIDField()),
                ("processed_at", models.DateTimeField()),
            ],
            options={"db_table": "roadbed_event_inbox"},
        ),
    ]
