"""LoginThrottle: limits, backoff, lockout and their Retry-After, on memory and on Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from roadbed_auth.throttle import (
    DEFAULT_ACCOUNT_RULE,
    KEY_PREFIX,
    Lockout,
    LoginThrottle,
    ThrottleRule,
    ThrottleScope,
    ThrottleUnavailable,
    TooManyAttempts,
)
from roadbed_core.cache import AsyncRedisCache

IP = "203.0.113.7"
EMAIL = "alice@example.com"

MakeThrottle = Callable[..., LoginThrottle]


async def fail(throttle: LoginThrottle, *, ip: str = IP, account: str = EMAIL) -> Lockout | None:
    """One admitted attempt that fails."""
    await throttle.check(ip=ip, account_key=account)
    return await throttle.record_failure(ip=ip, account_key=account)


async def succeed(throttle: LoginThrottle, *, ip: str = IP, account: str = EMAIL) -> None:
    await throttle.check(ip=ip, account_key=account)
    await throttle.record_success(ip=ip, account_key=account)


async def refusal(
    throttle: LoginThrottle, *, ip: str = IP, account: str = EMAIL
) -> TooManyAttempts:
    with pytest.raises(TooManyAttempts) as caught:
        await throttle.check(ip=ip, account_key=account)
    return caught.value


async def retry_after(throttle: LoginThrottle, *, ip: str = IP, account: str = EMAIL) -> str:
    return (await refusal(throttle, ip=ip, account=account)).headers["Retry-After"]


async def lock_account(throttle: LoginThrottle, *, account: str = EMAIL) -> None:
    for _ in range(DEFAULT_ACCOUNT_RULE.max_failures):
        await fail(throttle, account=account)


# --- the account limit --------------------------------------------------------------------


async def test_failures_below_the_limit_leave_the_account_open(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle()

    outcomes = [await fail(throttle) for _ in range(4)]

    assert outcomes == [None, None, None, None]
    await throttle.check(ip=IP, account_key=EMAIL)  # the fifth attempt is admitted


async def test_the_fifth_failure_locks_the_account_for_a_minute(
    make_throttle: MakeThrottle,
) -> None:
    throttle = make_throttle()
    for _ in range(4):
        await fail(throttle)

    lockout = await fail(throttle)
    error = await refusal(throttle)

    assert lockout == Lockout(ThrottleScope.ACCOUNT, 60)
    assert error.status == 429
    assert error.code == "too_many_attempts"
    assert error.retry_after == 60
    assert error.headers == {"Retry-After": "60"}
    assert error.to_problem() == {
        "type": "urn:roadbed:problem:too_many_attempts",
        "title": "Too Many Requests",
        "status": 429,
        "code": "too_many_attempts",
        "detail": "Too many failed attempts. Try again later.",
    }


async def test_retry_after_counts_down_with_the_clock(
    make_throttle: MakeThrottle, clock: Any
) -> None:
    throttle = make_throttle()
    await lock_account(throttle)

    clock.advance(45)
    after_45 = await retry_after(throttle)
    clock.advance(14.5)
    half_a_second_left = await retry_after(throttle)

    assert (after_45, half_a_second_left) == ("15", "1")


async def test_the_lockout_ends_after_its_time(make_throttle: MakeThrottle, clock: Any) -> None:
    throttle = make_throttle()
    await lock_account(throttle)

    clock.advance(60)

    await throttle.check(ip=IP, account_key=EMAIL)  # admitted


async def test_each_failure_after_a_lockout_doubles_the_next_up_to_the_cap(
    make_throttle: MakeThrottle, clock: Any
) -> None:
    throttle = make_throttle()
    await lock_account(throttle)
    lockouts: list[int] = []
    refusals: list[str] = []

    wait = 60
    for _ in range(6):
        clock.advance(wait)
        lockout = await fail(throttle)
        assert lockout is not None
        lockouts.append(lockout.retry_after)
        refusals.append(await retry_after(throttle))
        wait = lockout.retry_after

    assert lockouts == [120, 240, 480, 900, 900, 900]
    assert refusals == ["120", "240", "480", "900", "900", "900"]


async def test_hammering_a_locked_account_does_not_extend_its_lockout(
    make_throttle: MakeThrottle, clock: Any
) -> None:
    throttle = make_throttle()
    await lock_account(throttle)

    waits = []
    for _ in range(10):
        waits.append(await retry_after(throttle))
        clock.advance(6)

    assert waits == ["60", "54", "48", "42", "36", "30", "24", "18", "12", "6"]
    await throttle.check(ip=IP, account_key=EMAIL)  # admitted at 60 s, as first announced


async def test_the_backoff_is_forgotten_a_window_after_the_lockout_ends(
    make_throttle: MakeThrottle, clock: Any
) -> None:
    throttle = make_throttle()
    await lock_account(throttle)

    clock.advance(60 + 2 * 15 * 60)  # lockout over, then two quiet windows
    first_four = [await fail(throttle) for _ in range(4)]
    fifth = await fail(throttle)

    assert first_four == [None, None, None, None]
    assert fifth == Lockout(ThrottleScope.ACCOUNT, 60)


async def test_a_remembered_lockout_keeps_doubling_after_the_count_has_decayed(
    make_throttle: MakeThrottle, clock: Any
) -> None:
    # The count alone would forget these failures 15 minutes on; the last lockout does not.
    throttle = make_throttle(account_rule=ThrottleRule(max_failures=5, window=60))
    await lock_account(throttle)

    clock.advance(60 + 59)  # the window has slid past every failure; the lockout is remembered
    lockout = await fail(throttle)

    assert lockout == Lockout(ThrottleScope.ACCOUNT, 120)


async def test_failures_slide_out_of_the_window(make_throttle: MakeThrottle, clock: Any) -> None:
    throttle = make_throttle()
    for _ in range(4):
        await fail(throttle)

    clock.advance(2 * 15 * 60)
    outcomes = [await fail(throttle) for _ in range(4)]

    assert outcomes == [None, None, None, None]


# --- success ------------------------------------------------------------------------------


async def test_a_success_clears_the_failures(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle()
    for _ in range(4):
        await fail(throttle)

    await succeed(throttle)
    again = [await fail(throttle) for _ in range(5)]

    assert again == [None, None, None, None, Lockout(ThrottleScope.ACCOUNT, 60)]


async def test_a_success_after_a_lockout_clears_the_backoff(
    make_throttle: MakeThrottle, clock: Any
) -> None:
    throttle = make_throttle()
    await lock_account(throttle)
    clock.advance(60)
    lockout = await fail(throttle)
    assert lockout == Lockout(ThrottleScope.ACCOUNT, 120)
    clock.advance(120)

    await succeed(throttle)
    again = [await fail(throttle) for _ in range(5)]

    assert again == [None, None, None, None, Lockout(ThrottleScope.ACCOUNT, 60)]


# --- no enumeration -----------------------------------------------------------------------


async def test_the_answers_depend_only_on_the_address_typed(
    make_throttle: MakeThrottle, clock: Any
) -> None:
    # Whether an address is registered never reaches the throttle: a registered and an unknown
    # address, run through the same script, get the very same answers.
    throttle = make_throttle()

    async def script(account: str) -> list[object]:
        trace: list[object] = [await fail(throttle, account=account) for _ in range(5)]
        trace.append(await retry_after(throttle, account=account))
        clock.advance(60)
        trace.append(await fail(throttle, account=account))
        trace.append(await retry_after(throttle, account=account))
        return trace

    registered = await script("registered@example.com")
    unknown = await script("nobody-by-this-name@example.com")

    assert registered == unknown == [None, None, None, None, Lockout(ThrottleScope.ACCOUNT, 60), "60", Lockout(ThrottleScope.ACCOUNT, 120), "120"]  # fmt: skip


async def test_spellings_of_one_address_share_a_record(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle()
    spellings = [
        "alice@example.com",
        "Alice@Example.com",
        " ALICE@EXAMPLE.COM",
        "alice@example.com\t",
    ]

    outcomes = [await fail(throttle, account=spelling) for spelling in spellings]
    fifth = await fail(throttle, account="aLiCe@example.COM")

    assert outcomes == [None, None, None, None]
    assert fifth == Lockout(ThrottleScope.ACCOUNT, 60)


async def test_one_account_locked_leaves_others_open(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle()
    await lock_account(throttle)

    await throttle.check(ip=IP, account_key="bob@example.com")  # admitted


# --- the client limit ---------------------------------------------------------------------


async def test_fifty_failures_from_one_address_lock_it_for_every_account(
    make_throttle: MakeThrottle,
) -> None:
    throttle = make_throttle()

    outcomes = [await fail(throttle, account=f"user{n}@example.com") for n in range(50)]
    error = await refusal(throttle, account="fresh@example.com")

    assert outcomes == [None] * 49 + [Lockout(ThrottleScope.IP, 60)]
    assert error.headers == {"Retry-After": "60"}
    # Another client may still try the same account.
    await throttle.check(ip="198.51.100.1", account_key="fresh@example.com")


async def test_the_client_limit_backs_off_like_the_account_limit(
    make_throttle: MakeThrottle, clock: Any
) -> None:
    throttle = make_throttle()
    for n in range(50):
        await fail(throttle, account=f"user{n}@example.com")

    clock.advance(60)
    lockout = await fail(throttle, account="another@example.com")

    assert lockout == Lockout(ThrottleScope.IP, 120)


async def test_a_success_does_not_reset_the_clients_record(make_throttle: MakeThrottle) -> None:
    # Signing in to an account of one's own must not wipe the address's failures.
    throttle = make_throttle()
    for n in range(49):
        await fail(throttle, account=f"user{n}@example.com")

    await succeed(throttle, account="attacker@example.com")
    fiftieth = await fail(throttle, account="user49@example.com")

    assert fiftieth == Lockout(ThrottleScope.IP, 60)


async def test_successes_do_not_count_against_the_client(make_throttle: MakeThrottle) -> None:
    # Behind a shared NAT, many people sign in from one address.
    throttle = make_throttle(ip_rule=ThrottleRule(max_failures=3))

    for n in range(10):
        await succeed(throttle, account=f"user{n}@example.com")
    outcomes = [await fail(throttle, account=f"user{n}@example.com") for n in range(3)]

    assert outcomes == [None, None, Lockout(ThrottleScope.IP, 60)]


async def test_an_ipv6_64_is_one_client(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(ip_rule=ThrottleRule(max_failures=2))

    await fail(throttle, ip="2001:db8:0:0::1", account="a@example.com")
    second = await fail(throttle, ip="2001:db8::ffff:2", account="b@example.com")

    assert second == Lockout(ThrottleScope.IP, 60)
    assert await retry_after(throttle, ip="2001:db8::abcd:3", account="c@example.com") == "60"
    await throttle.check(ip="2001:db8:0:1::1", account_key="c@example.com")  # the next /64


async def test_an_ipv4_mapped_address_is_the_ipv4_client(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(ip_rule=ThrottleRule(max_failures=1))

    await fail(throttle, ip="::ffff:192.0.2.5", account="a@example.com")

    assert await retry_after(throttle, ip="192.0.2.5", account="b@example.com") == "60"


# --- concurrency --------------------------------------------------------------------------


async def test_a_parallel_burst_gets_the_allowance_plus_one(make_throttle: MakeThrottle) -> None:
    # Counting in check() closes the gap between the check and the failure: twenty requests at
    # once get the five allowed attempts and one past the limit, not twenty guesses.
    throttle = make_throttle()

    results = await asyncio.gather(
        *(throttle.check(ip=IP, account_key=EMAIL) for _ in range(20)), return_exceptions=True
    )

    admitted = [result for result in results if result is None]
    refused = [result for result in results if isinstance(result, TooManyAttempts)]
    assert (len(admitted), len(refused)) == (6, 14)


async def test_a_refused_burst_attempt_is_handed_back(
    make_throttle: MakeThrottle, clock: Any
) -> None:
    throttle = make_throttle()
    for _ in range(6):
        await throttle.check(ip=IP, account_key=EMAIL)  # five allowed, one past the limit

    refused = await refusal(throttle)
    for _ in range(6):
        await throttle.record_failure(ip=IP, account_key=EMAIL)

    # Refused while the sixth was out: told to wait what that one's failure then locked for.
    assert refused.headers == {"Retry-After": "120"}
    assert await retry_after(throttle) == "120"


async def test_a_refused_client_hands_back_the_account_attempt(
    make_throttle: MakeThrottle,
) -> None:
    # 192.0.2.1 is past its limit with one attempt in flight, so further ones are refused at
    # the client scope after the account scope had already counted them.
    strict = make_throttle(ip_rule=ThrottleRule(max_failures=1))
    await strict.check(ip="192.0.2.1", account_key="a@example.com")
    await strict.check(ip="192.0.2.1", account_key="b@example.com")  # the one in flight
    for _ in range(10):
        await refusal(strict, ip="192.0.2.1")

    throttle = make_throttle()  # the same records, the default rules
    outcomes = [await fail(throttle, ip="198.51.100.9") for _ in range(5)]

    # The ten refused attempts cost the account nothing: its five failures are all its own.
    assert outcomes == [None, None, None, None, Lockout(ThrottleScope.ACCOUNT, 60)]


# --- namespaces, keys, failures of the cache ----------------------------------------------


async def test_second_factor_attempts_are_counted_apart(make_throttle: MakeThrottle) -> None:
    login = make_throttle()
    second_factor = make_throttle(name="mfa")
    await lock_account(second_factor)

    await succeed(login)  # a correct password does not reset the code-guessing count

    assert await retry_after(second_factor) == "60"


async def test_cache_keys_carry_no_raw_identifiers(make_throttle: MakeThrottle, cache: Any) -> None:
    throttle = make_throttle()
    await lock_account(throttle)
    await succeed(throttle, account="bob@example.com")

    assert cache.keys
    for key in cache.keys:
        assert key.startswith(f"{KEY_PREFIX}:login:")
        assert "example" not in key.lower()
        assert "alice" not in key.lower()
        assert "203.0.113" not in key


async def test_an_unreachable_cache_fails_closed_with_a_503() -> None:
    unreachable = AsyncRedisCache.from_url("redis://127.0.0.1:1/0")
    throttle = LoginThrottle(unreachable, identifier_secret=b"test-identifier-secret-0123456789")

    try:
        with pytest.raises(ThrottleUnavailable) as caught:
            await throttle.check(ip=IP, account_key=EMAIL)
    finally:
        await unreachable.aclose()

    assert (caught.value.status, caught.value.code) == (503, "throttle_unavailable")


# --- rules --------------------------------------------------------------------------------


def test_the_default_rules_are_the_documented_ones() -> None:
    rule = DEFAULT_ACCOUNT_RULE

    lockouts = [rule.lockout_at(level) for level in range(7)]

    assert (rule.max_failures, rule.window) == (5, 900)
    assert lockouts == [60, 120, 240, 480, 900, 900, 900]
    assert rule.lockout_at(10**6) == 900


@pytest.mark.parametrize(
    "options",
    [
        {"max_failures": 0},
        {"max_failures": 5, "window": 0},
        {"max_failures": 5, "lockout": 0},
        {"max_failures": 5, "lockout": 120, "max_lockout": 60},
    ],
)
def test_impossible_rules_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        ThrottleRule(**options)
