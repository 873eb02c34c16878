"""Fixtures shared by the framework integration tests: real JSON log output, fresh metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from roadbed_core.logs import configure_logging, reset_logging
from roadbed_core.metrics import HttpMetrics

_TIMING_FIELDS = frozenset({"timestamp", "duration_ms"})


class LogLines:
    """The JSON lines written through the real logging pipeline during a test."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._stream.getvalue().splitlines() if line]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.all() if line["event"] == event]

    def access_lines(self) -> list[dict[str, Any]]:
        """Access lines minus ``timestamp``/``duration_ms``, which vary run to run."""
        return [
            {key: value for key, value in line.items() if key not in _TIMING_FIELDS}
            for line in self.all()
            if line.get("logger") == "roadbed.access"
        ]

    def durations_ms(self) -> list[object]:
        return [
            line["duration_ms"] for line in self.all() if line.get("logger") == "roadbed.access"
        ]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    stream = io.StringIO()
    previous_level = logging.getLogger().level
    configure_logging(json=True, level="DEBUG", stream=stream)
    try:
        yield LogLines(stream)
    finally:
        reset_logging()
        logging.getLogger().setLevel(previous_level)


@pytest.fixture
def metrics() -> HttpMetrics:
    """A private registry per test, so sample values are exact (no process collectors)."""
    return HttpMetrics("tasks", process_collectors=False)
