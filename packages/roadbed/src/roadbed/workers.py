"""``roadbed relay``: the production outbox relays, one per service, publishing to RabbitMQ."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AsyncExitStack

from roadbed.services import ServiceSpec
from roadbed_core.lifecycle import event_plane
from roadbed_core.runtime import bus_from_settings


class RelayConfigurationError(RuntimeError):
    """A relay was asked for a service that has no broker configured."""


async def run_relays(specs: list[ServiceSpec], *, stop: asyncio.Event | None = None) -> None:
    """Relay each service's outbox to its configured RabbitMQ until SIGINT/SIGTERM (or ``stop``)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        await _relay_until(specs, stop)
    finally:
        # The loop may outlive this call (tests, an embedding caller): give the signals back.
        for signum in signals:
            loop.remove_signal_handler(signum)


async def _relay_until(specs: list[ServiceSpec], stop: asyncio.Event) -> None:
    async with AsyncExitStack() as stack:
        for spec in specs:
            lifecycle = spec.load_lifecycle()
            settings = lifecycle.settings()
            if settings.amqp_url is None:
                prefix = f"ROADBED_{spec.name.upper()}_"
                raise RelayConfigurationError(
                    f"{prefix}AMQP_URL is not set: the relay publishes to RabbitMQ. "
                    "(In embedded mode `roadbed up` relays in-process by itself.)"
                )
            # Relays only: consumers belong to the worker processes.
            await stack.enter_async_context(
                event_plane([lifecycle], bus_from_settings(settings), consumers=False)
            )
        await stop.wait()
