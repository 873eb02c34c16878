"""``roadbed relay`` and ``roadbed jobs``: the production outbox relays and periodic jobs."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager

from roadbed.services import ServiceSpec
from roadbed_core.jobs import job_plane, run_all_once
from roadbed_core.lifecycle import event_plane
from roadbed_core.runtime import bus_from_settings


class RelayConfigurationError(RuntimeError):
    """A relay was asked for a service that has no broker configured."""


async def run_relays(specs: list[ServiceSpec], *, stop: asyncio.Event | None = None) -> None:
    """Relay each service's outbox to its configured RabbitMQ until SIGINT/SIGTERM (or ``stop``)."""
    stop = stop or asyncio.Event()
    with _stopped_by_signals(stop):
        await _relay_until(specs, stop)


async def run_jobs(specs: list[ServiceSpec], *, stop: asyncio.Event | None = None) -> None:
    """Run the periodic jobs of each service until SIGINT/SIGTERM (or ``stop``)."""
    stop = stop or asyncio.Event()
    with _stopped_by_signals(stop):
        async with job_plane([spec.load_lifecycle() for spec in specs]):
            await stop.wait()


async def run_jobs_once(specs: list[ServiceSpec]) -> dict[str, bool]:
    """Run each periodic job of each service a single time; job name → whether it succeeded."""
    return await run_all_once([spec.load_lifecycle() for spec in specs])


@contextmanager
def _stopped_by_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        yield
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
