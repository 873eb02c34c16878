"""TOTP: RFC 6238 vectors, the ±1 step window, single use, and malformed input."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from roadbed_auth.mfa import (
    TotpReplayGuard,
    generate_totp_secret,
    provisioning_uri,
    time_step,
    verify_totp,
)
from roadbed_core.cache import AsyncCache, AsyncMemoryCache, AsyncRedisCache

# RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
NOW = datetime(2026, 5, 4, 12, 0, 10, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def code_at(step: int, secret: str = SECRET) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


# --- RFC 6238 -----------------------------------------------------------------------------


@pytest.mark.parametrize(("unix_time", "rfc_code"), RFC_VECTORS)
def test_rfc_6238_vectors_with_eight_digits(unix_time: int, rfc_code: str) -> None:
    assert pyotp.TOTP(RFC_SECRET, digits=8).at(unix_time) == rfc_code


@pytest.mark.parametrize(("unix_time", "rfc_code"), RFC_VECTORS)
def test_rfc_6238_vectors_truncated_to_six_digits_verify(unix_time: int, rfc_code: str) -> None:
    # Six digits are the same dynamic truncation modulo 10^6: the last six of the eight.
    now = datetime.fromtimestamp(unix_time, UTC)

    step = verify_totp(RFC_SECRET, rfc_code[-6:], last_used_step=None, now=now)

    assert step == unix_time // 30


# --- the window ---------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_codes_one_step_either_side_are_accepted(offset: int) -> None:
    current = time_step(NOW)

    step = verify_totp(SECRET, code_at(current + offset), last_used_step=None, now=NOW)

    assert step == current + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_codes_further_away_are_refused(offset: int) -> None:
    current = time_step(NOW)

    assert verify_totp(SECRET, code_at(current + offset), last_used_step=None, now=NOW) is None


def test_a_wider_window_can_be_asked_for() -> None:
    current = time_step(NOW)

    step = verify_totp(SECRET, code_at(current - 2), last_used_step=None, now=NOW, window=2)

    assert step == current - 2


def test_time_step_is_thirty_second_unix_steps() -> None:
    assert time_step(datetime(1970, 1, 1, 0, 0, 59, tzinfo=UTC)) == 1
    assert time_step(NOW) == int(NOW.timestamp()) // 30
    assert time_step(NOW + timedelta(seconds=20)) == time_step(NOW) + 1


# --- single use ---------------------------------------------------------------------------


def test_a_code_works_once() -> None:
    code = code_at(time_step(NOW))
    first = verify_totp(SECRET, code, last_used_step=None, now=NOW)

    replay = verify_totp(SECRET, code, last_used_step=first, now=NOW + timedelta(seconds=5))

    assert first == time_step(NOW)
    assert replay is None


def test_an_older_code_after_a_newer_one_is_refused() -> None:
    current = time_step(NOW)
    used = verify_totp(SECRET, code_at(current + 1), last_used_step=None, now=NOW)

    older = verify_totp(SECRET, code_at(current), last_used_step=used, now=NOW)

    assert (used, older) == (current + 1, None)


def test_the_next_code_after_a_used_one_is_accepted() -> None:
    current = time_step(NOW)

    step = verify_totp(
        SECRET, code_at(current + 1), last_used_step=current, now=NOW + timedelta(seconds=30)
    )

    assert step == current + 1


# --- wrong and malformed input ------------------------------------------------------------


def test_a_wrong_code_is_refused() -> None:
    current = time_step(NOW)
    window_codes = {code_at(current + offset) for offset in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window_codes)

    assert verify_totp(SECRET, wrong, last_used_step=None, now=NOW) is None


def test_a_code_for_another_secret_is_refused() -> None:
    other = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
    code = code_at(time_step(NOW), secret=other)
    assert code not in {code_at(time_step(NOW) + offset) for offset in (-1, 0, 1)}

    assert verify_totp(SECRET, code, last_used_step=None, now=NOW) is None


@pytest.mark.parametrize(
    "code",
    [
        "",
        "12345",
        "1234567",
        "12345a",
        "abcdef",
        "12.456",
        "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits
        "1" * 10_000,
    ],
)
def test_malformed_codes_are_none_not_errors(code: str) -> None:
    assert verify_totp(SECRET, code, last_used_step=None, now=NOW) is None


@pytest.mark.parametrize("spelling", ["{0} {1}", " {0}{1} ", "{0}-{1}"])
def test_codes_as_apps_display_them_are_accepted(spelling: str) -> None:
    code = code_at(time_step(NOW))

    typed = spelling.format(code[:3], code[3:])

    assert verify_totp(SECRET, typed, last_used_step=None, now=NOW) == time_step(NOW)


def test_full_width_digits_are_read_as_digits() -> None:
    code = code_at(time_step(NOW))
    full_width = "".join(chr(ord(digit) - ord("0") + 0xFF10) for digit in code)

    assert verify_totp(SECRET, full_width, last_used_step=None, now=NOW) == time_step(NOW)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_totp(SECRET, "123456", last_used_step=None, now=datetime(2026, 5, 4))  # noqa: DTZ001


# --- secrets and enrolment ----------------------------------------------------------------


def test_secrets_are_160_random_bits_in_base32() -> None:
    first, second = generate_totp_secret(), generate_totp_secret()

    assert re.fullmatch(r"[A-Z2-7]{32}", first)
    assert len(base64.b32decode(first)) == 20
    assert first != second


def test_a_generated_secret_round_trips_through_an_authenticator() -> None:
    secret = generate_totp_secret()
    app = pyotp.parse_uri(provisioning_uri(secret=secret, email="alice@example.com"))

    step = verify_totp(secret, app.at(NOW), last_used_step=None, now=NOW)

    assert step == time_step(NOW)


def test_the_provisioning_uri_is_the_key_uri_format() -> None:
    uri = provisioning_uri(secret=SECRET, email="alice@example.com")

    assert uri == (
        "otpauth://totp/Roadbed:alice%40example.com"
        "?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Roadbed"
    )


# --- the replay guard ---------------------------------------------------------------------


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[AsyncCache]:
    if request.param == "memory":
        yield AsyncMemoryCache()
        return
    redis_cache = AsyncRedisCache.from_url(request.getfixturevalue("redis_url"))
    try:
        yield redis_cache
    finally:
        await redis_cache.aclose()


async def test_the_replay_guard_claims_a_step_once(cache: AsyncCache) -> None:
    guard = TotpReplayGuard(cache)
    user_id, other_user = uuid.uuid4(), uuid.uuid4()
    step = time_step(NOW)

    claims = [
        await guard.claim(user_id=user_id, step=step),
        await guard.claim(user_id=user_id, step=step),
        await guard.claim(user_id=user_id, step=step + 1),
        await guard.claim(user_id=other_user, step=step),
    ]

    assert claims == [True, False, True, True]


def test_the_replay_guard_outlives_the_window() -> None:
    # A step's code is accepted while now is within one step of it: up to 90 s after the claim.
    assert TotpReplayGuard(AsyncMemoryCache()).ttl == 120
