"""The hashing pool: bounded concurrency, slots held by abandoned work, load shedding.

The executor is a real thread pool the test can hold at a gate and count (see ``gated_executor``):
the bound is observed by counting jobs, never by timing them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from roadbed_auth.password import (
    Argon2Parameters,
    HashScheme,
    PasswordHasher,
    PasswordHasherBusy,
    VerifyResult,
)

from .gated_executor import GatedExecutor

PASSWORD = "correct horse battery staple"


async def let_the_loop_run() -> None:
    """Give every ready task on the loop its turns (tasks parked on the semaphore stay parked)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def wait_until_running(executor: GatedExecutor, count: int) -> None:
    assert await asyncio.to_thread(executor.wait_until_running, count)


async def test_more_verifications_than_slots_all_complete_with_at_most_n_at_once(
    low_parameters: Argon2Parameters, make_gated_executor: Callable[..., GatedExecutor]
) -> None:
    # Given a hasher allowed 2 concurrent hashes, on a pool that could run 8
    executor = make_gated_executor(max_workers=8)
    hasher = PasswordHasher(parameters=low_parameters, max_concurrency=2, executor=executor)
    executor.gate.set()
    stored = await hasher.hash(PASSWORD)
    executor.gate.clear()
    executor.submitted = executor.peak = 0

    # When 10 logins verify at once
    logins = [
        asyncio.create_task(hasher.verify(stored_hash=stored, password=PASSWORD)) for _ in range(10)
    ]
    await wait_until_running(executor, 2)
    await let_the_loop_run()

    # Then only 2 were handed to the pool while they were held...
    assert executor.submitted == 2
    executor.gate.set()
    results = await asyncio.gather(*logins)

    # ...and every login completed, never more than 2 hashing at the same time
    assert results == [VerifyResult(ok=True, scheme=HashScheme.ARGON2, new_hash=None)] * 10
    assert executor.submitted == 10
    assert executor.peak == 2


async def test_a_cancelled_caller_keeps_its_slot_until_the_thread_finishes(
    low_parameters: Argon2Parameters, make_gated_executor: Callable[..., GatedExecutor]
) -> None:
    # Given one slot, taken by a login whose hash is running, and a second login waiting
    executor = make_gated_executor(max_workers=4)
    hasher = PasswordHasher(parameters=low_parameters, max_concurrency=1, executor=executor)
    abandoned = asyncio.create_task(hasher.verify_dummy(PASSWORD))
    await wait_until_running(executor, 1)
    waiting = asyncio.create_task(hasher.verify_dummy(PASSWORD))
    await let_the_loop_run()

    # When the first caller goes away (client disconnected) while its thread still hashes
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    await let_the_loop_run()

    # Then the waiting login still waits: the abandoned hash holds the slot until it ends
    assert executor.submitted == 1
    executor.gate.set()
    await waiting
    assert executor.submitted == 2
    assert executor.peak == 1


async def test_callers_beyond_the_waiting_limit_are_refused_with_503(
    low_parameters: Argon2Parameters, make_gated_executor: Callable[..., GatedExecutor]
) -> None:
    # Given one slot taken and one caller already queued, with room for one waiter
    executor = make_gated_executor(max_workers=2)
    hasher = PasswordHasher(
        parameters=low_parameters, max_concurrency=1, max_waiting=1, executor=executor
    )
    running = asyncio.create_task(hasher.verify_dummy(PASSWORD))
    await wait_until_running(executor, 1)
    queued = asyncio.create_task(hasher.verify_dummy(PASSWORD))
    await let_the_loop_run()

    # When one more caller arrives
    with pytest.raises(PasswordHasherBusy) as raised:
        await hasher.verify_dummy(PASSWORD)

    # Then it is turned away at once with a retry hint, and the others still complete
    assert raised.value.status == 503
    assert raised.value.code == "password_hasher_busy"
    assert raised.value.headers == {"Retry-After": "1"}
    executor.gate.set()
    await asyncio.gather(running, queued)
    assert executor.submitted == 2


async def test_a_dummy_and_an_unknown_format_each_cost_one_pooled_verification(
    low_parameters: Argon2Parameters, make_gated_executor: Callable[..., GatedExecutor]
) -> None:
    executor = make_gated_executor(max_workers=1, gate_open=True)
    hasher = PasswordHasher(parameters=low_parameters, executor=executor)

    await hasher.verify_dummy(PASSWORD)
    unknown = await hasher.verify(stored_hash="md5$salt$hash", password=PASSWORD)

    assert unknown == VerifyResult(ok=False, scheme=None, new_hash=None)
    assert executor.submitted == 2
    assert executor.completed == 2


async def test_close_leaves_an_injected_executor_running(
    low_parameters: Argon2Parameters, make_gated_executor: Callable[..., GatedExecutor]
) -> None:
    executor = make_gated_executor(max_workers=1, gate_open=True)
    hasher = PasswordHasher(parameters=low_parameters, executor=executor)

    hasher.close()

    assert executor.submit(sum, [1, 2]).result() == 3
