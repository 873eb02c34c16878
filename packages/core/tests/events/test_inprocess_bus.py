"""What the in-process bus promises beyond the shared contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from roadbed_core.events import CloudEvent, InProcessBus, RetryPolicy

ORDER_PLACED = "roadbed.shop.order.placed.v1"
FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.05, multiplier=2.0, max_delay=0.2)


async def test_publish_returns_before_any_consumer_code_runs(
    recorder: Callable[..., Any], event_factory: Callable[..., CloudEvent]
) -> None:
    # given a started bus with one consumer
    bus = InProcessBus(retry=FAST_RETRY)
    consumer = recorder()
    bus.subscribe("notify", [ORDER_PLACED], consumer)
    await bus.start()

    # when an event is published
    await bus.publish(event_factory(ORDER_PLACED))

    # then the consumer has not run yet; it runs once the bus gets the loop
    assert consumer.calls == []
    await bus.drain()
    assert len(consumer.handled) == 1
    await bus.close()


async def test_events_published_before_start_are_delivered_after_start(
    recorder: Callable[..., Any], event_factory: Callable[..., CloudEvent]
) -> None:
    bus = InProcessBus(retry=FAST_RETRY)
    consumer = recorder()
    bus.subscribe("notify", [ORDER_PLACED], consumer)
    placed = event_factory(ORDER_PLACED)

    await bus.publish(placed)
    with pytest.raises(RuntimeError, match="start"):
        await bus.drain()
    await bus.start()
    await bus.drain()

    assert consumer.handled == [placed]
    await bus.close()


async def test_a_retrying_event_does_not_hold_up_the_rest_of_its_group(
    event_factory: Callable[..., CloudEvent],
) -> None:
    # given a consumer that always fails on one order and succeeds on others
    bus = InProcessBus(retry=FAST_RETRY)
    poisoned = event_factory(ORDER_PLACED, order_id="bad")
    healthy = event_factory(ORDER_PLACED, order_id="good")
    seen: list[str] = []

    async def consumer(event: CloudEvent) -> None:
        seen.append(event.data["order_id"])
        if event.data["order_id"] == "bad":
            raise ValueError("cannot process this order")

    bus.subscribe("notify", [ORDER_PLACED], consumer)
    await bus.start()

    # when the bad one is published first
    await bus.publish(poisoned)
    await bus.publish(healthy)
    await bus.drain()

    # then the good one was handled between the bad one's attempts, and the bad one is parked
    assert seen == ["bad", "good", "bad", "bad"]
    assert [(d.group, d.event, d.attempts) for d in bus.dead_letters] == [("notify", poisoned, 3)]
    assert bus.dead_letters[0].error == "ValueError('cannot process this order')"
    await bus.close()


async def test_a_slow_group_does_not_delay_another_group(
    recorder: Callable[..., Any], event_factory: Callable[..., CloudEvent]
) -> None:
    # given a first group whose handler cannot finish until the second group has handled the
    # event (with one shared worker this would deadlock and time out)
    bus = InProcessBus(retry=FAST_RETRY)
    fast = recorder()
    slow_finished: list[CloudEvent] = []

    async def slow(event: CloudEvent) -> None:
        await fast.wait_for_handled(1)
        slow_finished.append(event)

    bus.subscribe("slow", [ORDER_PLACED], slow)
    bus.subscribe("fast", [ORDER_PLACED], fast)
    await bus.start()
    placed = event_factory(ORDER_PLACED)

    # when an event both want is published
    await bus.publish(placed)
    await bus.drain()

    # then both finished: each group has its own worker
    assert fast.handled == [placed]
    assert slow_finished == [placed]
    await bus.close()


async def test_subscribe_after_start_is_refused(recorder: Callable[..., Any]) -> None:
    bus = InProcessBus()
    await bus.start()

    with pytest.raises(RuntimeError, match="before start"):
        bus.subscribe("late", ["#"], recorder())
    await bus.close()


async def test_publish_after_close_is_refused(event_factory: Callable[..., CloudEvent]) -> None:
    bus = InProcessBus()
    await bus.start()
    await bus.close()

    with pytest.raises(RuntimeError, match="closed"):
        await bus.publish(event_factory(ORDER_PLACED))


@pytest.mark.parametrize(
    ("group", "patterns", "message"),
    [
        ("", ["#"], "invalid consumer group name"),
        ("has space", ["#"], "invalid consumer group name"),
        ("notify", [], "non-empty sequence"),
        ("notify", "roadbed.#", "non-empty sequence"),
        ("notify", ["roadbed.auth*"], "invalid topic pattern"),
    ],
)
def test_subscribe_validates_group_and_patterns(
    group: str, patterns: Any, message: str, recorder: Callable[..., Any]
) -> None:
    with pytest.raises(ValueError, match=message):
        InProcessBus().subscribe(group, patterns, recorder())


def test_retry_policy_backs_off_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=5, initial_delay=0.5, multiplier=2.0, max_delay=1.5)

    assert policy.retry_delays() == (0.5, 1.0, 1.5, 1.5)


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"initial_delay": -1.0}, {"multiplier": 0.5}]
)
def test_retry_policy_rejects_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RetryPolicy(**kwargs)
