"""The bus contract, run against the in-process bus and RabbitMQ alike.

Whatever a consumer can rely on in embedded mode it must be able to rely on in production, so
every behaviour here is asserted on both. ``settle`` stops the bus and reports what is still
queued, which is how "exactly one delivery" is proven on RabbitMQ without sleeping: a duplicate
would have been either handled (and recorded) or still sitting in a queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from roadbed_core.events import CloudEvent

AUTH_REGISTERED = "roadbed.auth.user.registered.v1"
ORDER_PLACED = "roadbed.shop.order.placed.v1"
ARTICLE_PUBLISHED = "roadbed.blog.article.published.v1"


async def test_routes_each_event_by_topic_pattern(
    bus_harness: Any, recorder: Callable[..., Any], event_factory: Callable[..., CloudEvent]
) -> None:
    # given a group for everything auth and a group for order events of any service
    bus = bus_harness.new_bus()
    auth_consumer, order_consumer = recorder(), recorder()
    bus.subscribe(bus_harness.group("auth-watch"), ["roadbed.auth.#"], auth_consumer)
    bus.subscribe(bus_harness.group("order-watch"), ["roadbed.*.order.*.v1"], order_consumer)
    await bus.start()
    registered = event_factory(AUTH_REGISTERED, user_id="u-1")
    placed = event_factory(ORDER_PLACED, order_id="o-1")

    # when three events are published, one of which nobody subscribes to
    await bus.publish(registered)
    await bus.publish(event_factory(ARTICLE_PUBLISHED, slug="hello"))
    await bus.publish(placed)
    await auth_consumer.wait_for_handled(1)
    await order_consumer.wait_for_handled(1)

    # then each group got exactly its own event and nothing is left over
    assert await bus_harness.settle(bus) == {"queued": 0, "dead": 0}
    assert [e.id for e in auth_consumer.handled] == [registered.id]
    assert [e.id for e in order_consumer.handled] == [placed.id]


async def test_fans_out_one_copy_to_every_matching_group(
    bus_harness: Any, recorder: Callable[..., Any], event_factory: Callable[..., CloudEvent]
) -> None:
    # given two groups interested in the same event
    bus = bus_harness.new_bus()
    notify, analytics = recorder(), recorder()
    bus.subscribe(bus_harness.group("notify"), [ORDER_PLACED], notify)
    bus.subscribe(bus_harness.group("analytics"), ["roadbed.shop.#"], analytics)
    await bus.start()
    placed = event_factory(ORDER_PLACED, order_id="o-2")

    # when it is published once
    await bus.publish(placed)
    await notify.wait_for_handled(1)
    await analytics.wait_for_handled(1)

    # then both groups handled it once
    assert await bus_harness.settle(bus) == {"queued": 0, "dead": 0}
    assert [e.id for e in notify.calls] == [placed.id]
    assert [e.id for e in analytics.calls] == [placed.id]


async def test_delivers_once_per_group_even_when_several_patterns_and_routes_match(
    bus_harness: Any, recorder: Callable[..., Any], event_factory: Callable[..., CloudEvent]
) -> None:
    # given one group with overlapping patterns and a second route that also matches
    bus = bus_harness.new_bus()
    group = bus_harness.group("shop-watch")
    first_route, second_route = recorder(), recorder()
    bus.subscribe(group, ["roadbed.shop.#", "roadbed.*.order.placed.v1", "#"], first_route)
    bus.subscribe(group, [ORDER_PLACED], second_route)
    await bus.start()
    placed = event_factory(ORDER_PLACED, order_id="o-3")

    # when the event is published
    await bus.publish(placed)
    await first_route.wait_for_handled(1)

    # then the group saw it once, through its first matching route
    assert await bus_harness.settle(bus) == {"queued": 0, "dead": 0}
    assert [e.id for e in first_route.calls] == [placed.id]
    assert second_route.calls == []


async def test_retries_a_failing_handler_until_it_succeeds(
    bus_harness: Any, recorder: Callable[..., Any], event_factory: Callable[..., CloudEvent]
) -> None:
    # given a consumer that fails twice and a policy allowing three attempts
    bus = bus_harness.new_bus()
    consumer = recorder(fail_times=2)
    bus.subscribe(bus_harness.group("flaky"), [ORDER_PLACED], consumer)
    await bus.start()
    placed = event_factory(ORDER_PLACED, order_id="o-4")

    # when the event is published
    await bus.publish(placed)
    await consumer.wait_for_handled(1)

    # then the third attempt handled it and nothing was dead-lettered
    assert await bus_harness.settle(bus) == {"queued": 0, "dead": 0}
    assert [e.id for e in consumer.calls] == [placed.id] * 3
    assert [e.id for e in consumer.handled] == [placed.id]


async def test_dead_letters_after_max_attempts(
    bus_harness: Any, recorder: Callable[..., Any], event_factory: Callable[..., CloudEvent]
) -> None:
    # given a consumer that always fails
    bus = bus_harness.new_bus()
    group = bus_harness.group("broken")
    consumer = recorder(fail_times=1_000)
    bus.subscribe(group, [ORDER_PLACED], consumer)
    await bus.start()
    placed = event_factory(ORDER_PLACED, order_id="o-5")

    # when the event is published
    await bus.publish(placed)
    await consumer.wait_for_calls(3)
    dead = await bus_harness.dead_letters(bus, group, count=1)

    # then it was tried max_attempts times and parked with its attempt count
    assert dead == [(placed, 3)]
    assert await bus_harness.settle(bus) == {"queued": 0, "dead": 1}
    assert [e.id for e in consumer.calls] == [placed.id] * 3
    assert consumer.handled == []


async def test_handler_receives_an_equal_envelope_after_the_round_trip(
    bus_harness: Any, recorder: Callable[..., Any], event_factory: Callable[..., CloudEvent]
) -> None:
    # given an event with a subject and nested, non-ASCII data
    bus = bus_harness.new_bus()
    consumer = recorder()
    bus.subscribe(bus_harness.group("mirror"), ["#"], consumer)
    await bus.start()
    event = event_factory(
        AUTH_REGISTERED,
        subject="users/u-9",
        user_id="u-9",
        display_name="Zoë Ørsted",
        roles=["reader", "author"],
        limits={"articles": 10, "ratio": 0.5, "trial": True, "expires": None},
    )

    # when it crosses the bus
    await bus.publish(event)
    await consumer.wait_for_handled(1)

    # then the consumer sees an equal event, parsed from JSON rather than the same object
    assert await bus_harness.settle(bus) == {"queued": 0, "dead": 0}
    assert consumer.handled == [event]
    assert consumer.handled[0] is not event
