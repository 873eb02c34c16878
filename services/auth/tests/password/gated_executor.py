"""A real thread pool that tests can hold at a gate and count: concurrency observed, not timed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class GatedExecutor(ThreadPoolExecutor):
    """A real thread pool that counts its jobs and holds each one at a gate the test opens.

    ``submitted`` is counted on the submitting (event-loop) thread, so it shows exactly how much
    work the hasher has handed over; ``peak`` is the most jobs ever running at once.
    """

    def __init__(self, *, max_workers: int, gate_open: bool = False) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="gated-test-pool")
        self.gate = threading.Event()
        if gate_open:
            self.gate.set()
        self.submitted = 0
        self.running = 0
        self.peak = 0
        self.completed = 0
        self._state = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1

        def job() -> Any:
            with self._state:
                self.running += 1
                self.peak = max(self.peak, self.running)
                self._state.notify_all()
            try:
                self.gate.wait()
                return fn(*args, **kwargs)
            finally:
                with self._state:
                    self.running -= 1
                    self.completed += 1
                    self._state.notify_all()

        return super().submit(job)

    def wait_until_running(self, count: int) -> bool:
        """Block until ``count`` jobs are inside the pool (the timeout only guards a broken test)."""
        with self._state:
            return self._state.wait_for(lambda: self.running >= count, timeout=10)
