"""Periodic jobs: housekeeping a service runs on a timer (expire reservations, publish due posts).

A service declares its jobs through its lifecycle (``ServiceLifecycle.periodic_jobs``). The
embedded ``roadbed up`` runs them in its event loop; in production ``roadbed jobs`` runs them as
their own process (several replicas may run at once), and ``roadbed jobs --once`` runs each a
single time for an external scheduler (a Kubernetes CronJob).

Because replicas overlap, a job must be safe to run concurrently with itself: guarded ``UPDATE``
statements, ``FOR UPDATE SKIP LOCKED`` — never "read the due rows, then act on them".
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    """One unit of housekeeping: ``run`` does a single pass and returns what it did (for the log)."""

    name: str
    interval: timedelta
    run: Callable[[], Awaitable[object]]

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0):
            raise ValueError(f"job {self.name!r}: interval must be positive")


class HasPeriodicJobs(Protocol):
    def periodic_jobs(self) -> AbstractAsyncContextManager[Sequence[PeriodicJob]]:
        """Open what the jobs need (an engine), yield them, release it on exit."""
        ...


@asynccontextmanager
async def no_jobs() -> AsyncIterator[Sequence[PeriodicJob]]:
    yield ()


async def run_once(job: PeriodicJob) -> bool:
    """Run one pass of ``job``, logging its outcome; ``False`` when it raised."""
    started = time.perf_counter()
    try:
        outcome = await job.run()
    except Exception:
        logger.exception("job %s failed", job.name)
        return False
    logger.info(
        "job %s done in %.1f ms: %s", job.name, (time.perf_counter() - started) * 1000, outcome
    )
    return True


async def run_every(job: PeriodicJob, stop: asyncio.Event, *, first_delay: float = 1.0) -> None:
    """Run ``job`` every ``interval`` (with up to 10% jitter so replicas drift apart) until ``stop``."""
    delay = min(first_delay, job.interval.total_seconds())
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
            return
        except TimeoutError:
            pass
        await run_once(job)
        interval = job.interval.total_seconds()
        delay = interval + random.uniform(0, interval / 10)  # noqa: S311 - jitter, not security


@asynccontextmanager
async def job_plane(
    owners: Iterable[HasPeriodicJobs], *, first_delay: float = 1.0
) -> AsyncIterator[list[PeriodicJob]]:
    """Run every job of ``owners`` on its timer for the duration of the block."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    async with AsyncExitStack() as stack:
        jobs: list[PeriodicJob] = []
        for owner in owners:
            jobs.extend(await stack.enter_async_context(owner.periodic_jobs()))
        try:
            for job in jobs:
                tasks.append(
                    asyncio.create_task(
                        run_every(job, stop, first_delay=first_delay), name=f"job:{job.name}"
                    )
                )
            yield jobs
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)


async def run_all_once(owners: Iterable[HasPeriodicJobs]) -> dict[str, bool]:
    """Run each job of ``owners`` a single time (for cron); job name → whether it succeeded."""
    results: dict[str, bool] = {}
    for owner in owners:
        async with owner.periodic_jobs() as jobs:
            for job in jobs:
                results[job.name] = await run_once(job)
    return results
