"""The notify worker's process: its event consumers plus /healthz, /readyz and /metrics.

Run alone with ``roadbed worker`` it consumes from RabbitMQ. In embedded mode this app is not
created: the composition subscribes notify's consumers on the in-process bus instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from roadbed_core.lifecycle import event_plane
from roadbed_core.runtime import bus_from_settings, create_fastapi_service
from roadbed_notify.config import NotifySettings, get_settings
from roadbed_notify.lifecycle import build_lifecycle


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """Build the worker process app: consumers run for the app's lifetime."""
    settings = settings or get_settings()
    # The consumers use these settings too, not whatever the environment holds.
    lifecycle = build_lifecycle(lambda: settings)

    @asynccontextmanager
    async def consume(_app: FastAPI) -> AsyncIterator[None]:
        async with event_plane([lifecycle], bus_from_settings(settings), relays=False):
            yield

    return create_fastapi_service(
        settings,
        title="Roadbed notify",
        description="The worker that turns domain events into emails and signed outgoing webhooks.",
        extra_lifespan=consume,
    )
