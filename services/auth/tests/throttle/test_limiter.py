"""RateLimiter: fixed and sliding budgets, exact Retry-After, on memory and on Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from roadbed_auth.throttle import KEY_PREFIX, Decision, RateLimited, RateLimiter, WindowKind
from roadbed_core.cache import AsyncMemoryCache

MakeLimiter = Callable[..., RateLimiter]
KEY = "198.51.100.23"


async def test_fixed_window_allows_the_limit_then_refuses_until_the_boundary(
    make_limiter: MakeLimiter, clock: Any
) -> None:
    limiter = make_limiter(name="register", limit=3, window=60, kind=WindowKind.FIXED)

    allowed = [await limiter.hit(KEY) for _ in range(3)]
    clock.advance(10)
    refused = await limiter.hit(KEY)
    clock.advance(50)
    next_window = await limiter.hit(KEY)

    assert allowed == [Decision(True, 0, 2), Decision(True, 0, 1), Decision(True, 0, 0)]
    assert refused == Decision(allowed=False, retry_after=50, remaining=0)
    assert next_window == Decision(allowed=True, retry_after=0, remaining=2)


async def test_sliding_window_waits_out_the_previous_windows_weight(
    make_limiter: MakeLimiter, clock: Any
) -> None:
    limiter = make_limiter(name="password-reset", limit=4, window=60)
    for _ in range(4):
        await limiter.hit(KEY)

    clock.advance(60)  # a new fixed window, but the last 60 s still hold four hits
    refused = await limiter.hit(KEY)
    clock.advance(14)
    still_refused = await limiter.hit(KEY)
    clock.advance(1)  # four hits weighted by 45/60: three, room for one
    allowed = await limiter.hit(KEY)

    assert refused == Decision(allowed=False, retry_after=15, remaining=0)
    assert still_refused == Decision(allowed=False, retry_after=1, remaining=0)
    assert allowed == Decision(allowed=True, retry_after=0, remaining=0)


async def test_sliding_window_spent_within_one_window_waits_into_the_next(
    make_limiter: MakeLimiter, clock: Any
) -> None:
    limiter = make_limiter(name="password-reset", limit=4, window=60)
    for _ in range(4):
        await limiter.hit(KEY)

    refused = await limiter.hit(KEY)
    clock.advance(74)
    still_refused = await limiter.hit(KEY)
    clock.advance(1)
    allowed = await limiter.hit(KEY)

    # The four hits must weigh three: 60 s to the boundary, then a quarter of the next window.
    assert refused == Decision(allowed=False, retry_after=75, remaining=0)
    assert still_refused == Decision(allowed=False, retry_after=1, remaining=0)
    assert allowed == Decision(allowed=True, retry_after=0, remaining=0)


async def test_refused_hits_are_not_counted(make_limiter: MakeLimiter, clock: Any) -> None:
    limiter = make_limiter(name="register", limit=2, window=60)
    await limiter.hit(KEY)
    await limiter.hit(KEY)

    answers = [await limiter.hit(KEY) for _ in range(20)]

    assert {answer.retry_after for answer in answers} == {90}
    clock.advance(90)
    assert (await limiter.hit(KEY)).allowed


async def test_keys_and_limiters_have_separate_budgets(make_limiter: MakeLimiter) -> None:
    register = make_limiter(name="register", limit=1, window=60)
    reset = make_limiter(name="password-reset", limit=1, window=60)
    await register.hit(KEY)

    assert (await register.hit("198.51.100.24")).allowed
    assert (await reset.hit(KEY)).allowed
    assert not (await register.hit(KEY)).allowed


async def test_hit_or_raise_raises_a_429_with_retry_after(
    make_limiter: MakeLimiter, cache: Any
) -> None:
    limiter = make_limiter(name="register", limit=1, window=60, kind=WindowKind.FIXED)
    assert await limiter.hit_or_raise(KEY) == Decision(allowed=True, retry_after=0, remaining=0)

    with pytest.raises(RateLimited) as caught:
        await limiter.hit_or_raise(KEY)

    assert (caught.value.status, caught.value.code) == (429, "rate_limited")
    assert caught.value.headers == {"Retry-After": "60"}
    assert all(key.startswith(f"{KEY_PREFIX}:rate:register:") for key in cache.keys)
    assert not any("198.51.100" in key for key in cache.keys)


@pytest.mark.parametrize(
    "options",
    [{"name": "register", "limit": 0}, {"name": "", "limit": 1}, {"name": "a:b", "limit": 1}],
)
def test_impossible_limiters_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        RateLimiter(
            AsyncMemoryCache(),
            identifier_secret=b"test-identifier-secret-0123456789",
            window=60,
            **options,
        )
