"""AMQP topic matching, as RabbitMQ's topic exchange does it."""

from __future__ import annotations

import pytest

from roadbed_core.events.topics import topic_matches, validate_pattern


@pytest.mark.parametrize(
    ("pattern", "routing_key", "expected"),
    [
        ("roadbed.shop.order.placed.v1", "roadbed.shop.order.placed.v1", True),
        ("roadbed.shop.order.placed.v1", "roadbed.shop.order.placed.v2", False),
        ("roadbed.*.order.placed.v1", "roadbed.shop.order.placed.v1", True),
        ("roadbed.*.placed.v1", "roadbed.shop.order.placed.v1", False),  # * is one word
        ("roadbed.auth.#", "roadbed.auth.user.registered.v1", True),
        ("roadbed.auth.#", "roadbed.auth", True),  # # matches zero words
        ("roadbed.auth.#", "roadbed.authx.user.registered.v1", False),
        ("roadbed.auth.#", "roadbed.shop.order.placed.v1", False),
        ("#", "roadbed.shop.order.placed.v1", True),
        ("#.v1", "roadbed.shop.order.placed.v1", True),
        ("#.v1", "roadbed.shop.order.placed.v2", False),
        ("roadbed.#.placed.*", "roadbed.shop.order.placed.v1", True),
        ("roadbed.#.placed.*", "roadbed.placed.v1", True),
        ("roadbed.#.placed.*", "roadbed.shop.order.placed", False),
        ("#.#.#", "a", True),
        ("*.#", "a", True),
        ("*.*", "a", False),
        ("*", "a.b", False),
        ("a.#.b.#.c", "a.x.b.y.z.c", True),
        ("a.#.b.#.c", "a.b.c", True),
        ("a.#.b.#.c", "a.c.b", False),
    ],
)
def test_topic_matches_like_rabbitmq(pattern: str, routing_key: str, expected: bool) -> None:
    assert topic_matches(pattern, routing_key) is expected


@pytest.mark.parametrize("pattern", ["roadbed.auth*", "roadbed..auth", "", "roadbed.auth.", "a b"])
def test_validate_pattern_rejects_malformed_words(pattern: str) -> None:
    with pytest.raises(ValueError, match="invalid topic pattern"):
        validate_pattern(pattern)


@pytest.mark.parametrize(
    "pattern", ["roadbed.auth.#", "*.shop.*.*.v1", "#", "roadbed.order_item-x"]
)
def test_validate_pattern_accepts_well_formed_patterns(pattern: str) -> None:
    assert validate_pattern(pattern) == pattern
