"""Periodic jobs: run on their timer, survive their own failures, stop promptly, run once for cron."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from roadbed_core.jobs import PeriodicJob, job_plane, run_all_once, run_every
from roadbed_core.lifecycle import SqlAlchemyLifecycle
from roadbed_core.settings import ServiceSettings


class Counter:
    def __init__(self, *, fail_first: int = 0) -> None:
        self.calls = 0
        self.fail_first = fail_first

    async def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.fail_first:
            raise RuntimeError(f"pass {self.calls} failed")
        return self.calls


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval must be positive"):
        PeriodicJob(name="never", interval=timedelta(0), run=Counter())


async def test_a_job_runs_on_its_timer_and_stops_when_asked() -> None:
    counter = Counter()
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_every(PeriodicJob("tick", timedelta(milliseconds=20), counter), stop, first_delay=0.001)
    )

    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, timeout=1)

    # 0.2 s at one pass per 20-22 ms: about nine passes; the bounds allow a busy machine.
    assert 3 <= counter.calls <= 11
    calls_at_stop = counter.calls
    await asyncio.sleep(0.05)
    assert counter.calls == calls_at_stop


async def test_a_failing_pass_is_logged_and_the_next_one_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="roadbed_core.jobs")
    counter = Counter(fail_first=2)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_every(PeriodicJob("flaky", timedelta(milliseconds=10), counter), stop, first_delay=0)
    )

    while counter.calls < 4:
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=1)

    failures = [r for r in caplog.records if r.getMessage() == "job flaky failed"]
    assert len(failures) == 2
    assert str(failures[0].exc_info[1]) == "pass 1 failed"  # type: ignore[index]
    assert any(r.getMessage().startswith("job flaky done in ") for r in caplog.records)


def _lifecycle(tmp_path: Path, factory: object) -> SqlAlchemyLifecycle:
    settings = ServiceSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
    return SqlAlchemyLifecycle(
        settings=lambda: settings,
        migrations=tmp_path,
        outbox=None,
        jobs=factory,  # type: ignore[arg-type]
    )


async def test_a_sqlalchemy_service_gets_an_engine_for_its_jobs(tmp_path: Path) -> None:
    seen: list[int] = []

    def factory(engine: AsyncEngine) -> Sequence[PeriodicJob]:
        async def query() -> int:
            async with engine.connect() as connection:
                value: int = (await connection.execute(sa.text("SELECT 41 + 1"))).scalar_one()
            seen.append(value)
            return value

        return [PeriodicJob("answer", timedelta(milliseconds=10), query)]

    async with job_plane([_lifecycle(tmp_path, factory)], first_delay=0) as jobs:
        while not seen:
            await asyncio.sleep(0.01)

    assert [job.name for job in jobs] == ["answer"]
    assert seen[0] == 42


async def test_run_all_once_reports_each_job(tmp_path: Path) -> None:
    good, bad = Counter(), Counter(fail_first=1)

    def factory(_engine: AsyncEngine) -> Sequence[PeriodicJob]:
        return [
            PeriodicJob("good", timedelta(minutes=1), good),
            PeriodicJob("bad", timedelta(minutes=1), bad),
        ]

    results = await run_all_once([_lifecycle(tmp_path, factory)])

    assert results == {"good": True, "bad": False}
    assert (good.calls, bad.calls) == (1, 1)


async def test_a_service_without_jobs_contributes_none(tmp_path: Path) -> None:
    async with job_plane([_lifecycle(tmp_path, None)]) as jobs:
        assert jobs == []
