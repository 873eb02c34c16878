"""The bus contract shared by the in-process bus and RabbitMQ, plus what both implement alike.

A consumer *group* is one logical consumer (``notify``, ``blog.profile-sync``): every group whose
patterns match an event's type gets exactly one delivery of it, however many routes (or, on
RabbitMQ, replicas) the group has. Within a group the first route whose patterns match handles
the event. A failing handler is retried with exponential backoff, then dead-lettered.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from roadbed_core.events.envelope import CloudEvent, EventFormatError
from roadbed_core.events.topics import topic_matches, validate_pattern

#: What consumers register: an async callable that processes one event or raises.
Handler = Callable[[CloudEvent], Awaitable[None]]

_GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")


class EventPublisher(Protocol):
    """The one thing the relay needs from a bus."""

    async def publish(self, event: CloudEvent) -> None:
        """Hand ``event`` to the bus; returns once the bus has accepted it durably (if it can)."""
        ...


class EventBus(EventPublisher, Protocol):
    """Publish, subscribe (before :meth:`start`), start consuming, close."""

    def subscribe(self, group: str, patterns: Sequence[str], handler: Handler) -> None:
        """Route events whose type matches any of ``patterns`` (AMQP topic syntax) to ``handler``."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failing handler is retried.

    ``max_attempts`` counts every delivery, the first included: 5 means one try and four retries.
    """

    max_attempts: int = 5
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ValueError("delays must be >= 0 and multiplier >= 1")

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next."""
        return float(min(self.initial_delay * self.multiplier ** (attempt - 1), self.max_delay))

    def retry_delays(self) -> tuple[float, ...]:
        """The delay after each failed attempt that is followed by another attempt."""
        return tuple(self.delay_after(attempt) for attempt in range(1, self.max_attempts))


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message a group gave up on: the raw body (it may not even parse) and why."""

    group: str
    body: bytes
    error: str
    attempts: int

    @property
    def event(self) -> CloudEvent | None:
        """The parsed event, or ``None`` when the body itself was the problem."""
        try:
            return CloudEvent.from_json(self.body)
        except EventFormatError:
            return None


@dataclass(frozen=True, slots=True)
class Route:
    patterns: tuple[str, ...]
    handler: Handler

    def matches(self, event_type: str) -> bool:
        return any(topic_matches(pattern, event_type) for pattern in self.patterns)


@dataclass(slots=True)
class Subscriptions:
    """Groups and their routes; the routing rules both buses share."""

    routes: dict[str, list[Route]] = field(default_factory=dict)

    def add(self, group: str, patterns: Sequence[str], handler: Handler) -> None:
        if _GROUP_NAME.fullmatch(group) is None:
            raise ValueError(f"invalid consumer group name {group!r}")
        if isinstance(patterns, str) or not patterns:
            raise ValueError("patterns must be a non-empty sequence of topic patterns")
        validated = tuple(validate_pattern(pattern) for pattern in patterns)
        self.routes.setdefault(group, []).append(Route(validated, handler))

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self.routes)

    def patterns_of(self, group: str) -> tuple[str, ...]:
        """Every distinct pattern of a group, in subscription order (its queue bindings)."""
        return tuple(dict.fromkeys(p for route in self.routes[group] for p in route.patterns))

    def groups_matching(self, event_type: str) -> tuple[str, ...]:
        return tuple(
            group
            for group, routes in self.routes.items()
            if any(route.matches(event_type) for route in routes)
        )

    def handler_for(self, group: str, event_type: str) -> Handler | None:
        for route in self.routes.get(group, ()):
            if route.matches(event_type):
                return route.handler
        return None
