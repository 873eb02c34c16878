"""TOTP (RFC 6238) as authenticator apps speak it: SHA-1, six digits, 30-second steps.

A code is accepted one step either side of now (RFC 6238 §5.2 recommends at most one step of
allowed network delay and clock drift) and works once: :func:`verify_totp` returns the time step
the code matched, the caller stores it (``users.totp_last_step``, with a guarded ``UPDATE ...
WHERE totp_last_step IS NULL OR totp_last_step < :step``), and every later verification rejects
steps at or before it. That also rejects an *older* code typed after a newer one, which is what
makes a code observed over someone's shoulder worthless once its owner has signed in.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import unicodedata
import uuid
from datetime import datetime
from typing import Final

import pyotp

from roadbed_core.cache import AsyncCache

ISSUER: Final = "Roadbed"
DIGITS: Final = 6
#: Seconds per step (RFC 6238's X).
STEP_SECONDS: Final = 30
#: Steps accepted either side of the current one.
DEFAULT_WINDOW: Final = 1
#: 160 bits, the HMAC-SHA-1 output size RFC 4226 §4 recommends for the shared secret.
SECRET_BYTES: Final = 20

_CODE = re.compile(rf"[0-9]{{{DIGITS}}}")
# Spaces are how apps display codes ("123 456") and how people copy them.
_SEPARATORS = re.compile(r"[\s-]+")
_MAX_INPUT_LENGTH: Final = 32


def generate_totp_secret() -> str:
    """A fresh shared secret: 160 random bits, base32 without padding (32 characters)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def provisioning_uri(*, secret: str, email: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://totp/Issuer:email?secret=...&issuer=Issuer`` URI a QR code carries."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=email, issuer_name=issuer
    )


def time_step(now: datetime) -> int:
    """The RFC 6238 time step ``now`` falls in (``T = floor(unix_time / 30)``)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return int(now.timestamp()) // STEP_SECONDS


def _normalise_code(code: str) -> str | None:
    if len(code) > _MAX_INPUT_LENGTH:
        return None
    # NFKC turns full-width digits (what some input methods type) into ASCII ones.
    candidate = _SEPARATORS.sub("", unicodedata.normalize("NFKC", code))
    # ASCII digits only: str.isdigit() would also take other scripts' digits ("١٢٣").
    return candidate if _CODE.fullmatch(candidate) else None


def verify_totp(
    secret: str,
    code: str,
    *,
    last_used_step: int | None,
    now: datetime,
    window: int = DEFAULT_WINDOW,
) -> int | None:
    """The time step ``code`` is valid for, or ``None`` (wrong, malformed, or already used).

    Any malformed input (letters, wrong length) is simply not a match. The caller must persist
    the returned step as the new ``last_used_step`` before treating the code as accepted.
    """
    if window < 0:
        raise ValueError("window cannot be negative")
    current = time_step(now)
    candidate = _normalise_code(code)
    if candidate is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    matched: int | None = None
    # Every step in the window is compared, in constant time, whatever matched already.
    for step in range(max(0, current - window), current + window + 1):
        expected = totp.generate_otp(step)
        is_match = hmac.compare_digest(expected.encode(), candidate.encode())
        if is_match and (last_used_step is None or step > last_used_step) and matched is None:
            matched = step
    return matched


class TotpReplayGuard:
    """Claims a (user, step) pair once, atomically, in the shared cache.

    The database's last-used step is the record that lasts; this guard closes the gap between
    two requests that both read the same ``last_used_step`` and verify the same code before
    either has written. ``add`` is atomic on Redis and in-process alike.
    """

    KEY_PREFIX: Final = "roadbed:auth:mfa:totp-used"

    def __init__(self, cache: AsyncCache, *, window: int = DEFAULT_WINDOW) -> None:
        self.cache = cache
        # A step's code is accepted until ``window`` steps after it has passed; keep the claim
        # one step longer than that.
        self.ttl = float((2 * window + 2) * STEP_SECONDS)

    async def claim(self, *, user_id: uuid.UUID | str, step: int) -> bool:
        """``True`` for the first caller to claim ``step`` for ``user_id``, ``False`` after."""
        key = f"{self.KEY_PREFIX}:{user_id}:{step}"
        return await self.cache.add(key, b"1", ttl=self.ttl)
