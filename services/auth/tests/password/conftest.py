"""Password test fixtures: a cheap hasher, and an executor the tests can hold and count."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from roadbed_auth.password import Argon2Parameters, PasswordHasher

from .gated_executor import GatedExecutor

#: Cheap argon2id parameters so most tests hash in about a millisecond; the OWASP defaults are
#: exercised by the few tests that need them.
LOW_PARAMETERS = Argon2Parameters(memory_cost_kib=1024, time_cost=1, parallelism=1)


@pytest.fixture
def low_parameters() -> Argon2Parameters:
    return LOW_PARAMETERS


@pytest.fixture
async def hasher() -> AsyncIterator[PasswordHasher]:
    password_hasher = PasswordHasher(parameters=LOW_PARAMETERS)
    yield password_hasher
    password_hasher.close()


@pytest.fixture
def make_gated_executor() -> Iterator[Callable[..., GatedExecutor]]:
    """Build gated executors and make sure none is left with threads parked at its gate."""
    executors: list[GatedExecutor] = []

    def make(*, max_workers: int, gate_open: bool = False) -> GatedExecutor:
        executor = GatedExecutor(max_workers=max_workers, gate_open=gate_open)
        executors.append(executor)
        return executor

    yield make
    for executor in executors:
        executor.gate.set()
        executor.shutdown(wait=True)
