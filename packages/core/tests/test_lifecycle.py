"""The event plane: relays start after the bus, and stop before their resources go away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from roadbed_core.events.bus import EventBus, EventPublisher
from roadbed_core.events.inprocess import InProcessBus
from roadbed_core.events.relay import Deliver, OutboxRelay
from roadbed_core.lifecycle import event_plane
from roadbed_core.settings import ServiceSettings


class IdleStore:
    """An outbox that is always empty; counts how often the relay looked."""

    def __init__(self) -> None:
        self.polls = 0

    async def publish_pending(self, *, limit: int, deliver: Deliver) -> int:
        self.polls += 1
        return 0


class FakeLifecycle:
    """A service whose relay either starts (and records when its resources close) or fails."""

    def __init__(self, *, fails: bool = False) -> None:
        self.fails = fails
        self.store = IdleStore()
        self.events: list[str] = []
        self.relay_task_done_at_close: bool | None = None

    @property
    def settings(self) -> Callable[[], ServiceSettings]:
        return ServiceSettings

    def migrate(self) -> None:
        return None

    def seed(self) -> list[str]:
        return []

    def subscribe(self, bus: EventBus) -> None:
        return None

    def outbox_relay(self, bus: EventPublisher) -> AbstractAsyncContextManager[OutboxRelay] | None:
        return self._relay(bus)

    @asynccontextmanager
    async def _relay(self, bus: EventPublisher) -> AsyncIterator[OutboxRelay]:
        if self.fails:
            raise ConnectionError("database unreachable")
        self.events.append("opened")
        try:
            yield OutboxRelay(store=self.store, bus=bus)
        finally:
            # What the real relay context does here is dispose of the engine the relay uses.
            running = [
                task
                for task in asyncio.all_tasks()
                if task is not asyncio.current_task() and "run_forever" in repr(task.get_coro())
            ]
            self.relay_task_done_at_close = not running
            self.events.append("closed")


async def test_relays_are_stopped_before_their_resources_close() -> None:
    # given one service with a relay
    service = FakeLifecycle()

    # when the plane runs and exits
    async with event_plane([service], InProcessBus(), poll_interval=0.01):
        await asyncio.sleep(0.05)

    # then the relay polled, and its task had ended before the relay's resources closed
    assert service.store.polls >= 1
    assert service.events == ["opened", "closed"]
    assert service.relay_task_done_at_close is True


async def test_a_relay_that_fails_to_start_stops_the_ones_already_running() -> None:
    # given a service whose relay starts and a second whose relay cannot
    started, broken = FakeLifecycle(), FakeLifecycle(fails=True)

    # when the plane is entered
    with pytest.raises(ConnectionError, match="database unreachable"):
        async with event_plane([started, broken], InProcessBus(), poll_interval=0.01):
            pytest.fail("the plane must not start")

    # then the first relay was stopped before its resources closed, and no relay task survives
    assert started.events == ["opened", "closed"]
    assert started.relay_task_done_at_close is True
    assert [t for t in asyncio.all_tasks() if "run_forever" in repr(t.get_coro())] == []
