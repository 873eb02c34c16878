"""The failures the throttle raises, already shaped for RFC 9457 and RFC 9110 ``Retry-After``.

Each carries its ``Retry-After`` header (whole seconds, never below one) in ``headers`` so the
problem renderer only copies it through. The detail text is the same whichever limit tripped
(account or client address): telling them apart would tell an attacker whether an account
exists or which of its addresses is being watched.
"""

from __future__ import annotations

import math

from roadbed_core.errors import ServiceUnavailable, TooManyRequests


def retry_after_seconds(seconds: float) -> int:
    """Whole seconds for ``Retry-After``: rounded up, at least one (``0`` would invite a retry now).

    Rounded to the microsecond first so float noise (``60.000000001``) does not add a second.
    """
    return max(1, math.ceil(round(seconds, 6)))


class _RetryLater(TooManyRequests):
    def __init__(self, *, retry_after: float, detail: str | None = None) -> None:
        self.retry_after = retry_after_seconds(retry_after)
        super().__init__(detail, headers={"Retry-After": str(self.retry_after)})


class TooManyAttempts(_RetryLater):
    """Too many failed sign-in attempts for this account or from this client: wait and retry."""

    code = "too_many_attempts"

    def __init__(self, *, retry_after: float) -> None:
        super().__init__(
            retry_after=retry_after,
            detail="Too many failed attempts. Try again later.",
        )


class RateLimited(_RetryLater):
    """A general request budget (registration, reset requests, ...) is spent for now."""

    code = "rate_limited"

    def __init__(self, *, retry_after: float) -> None:
        super().__init__(retry_after=retry_after, detail="Too many requests. Try again later.")


class ThrottleUnavailable(ServiceUnavailable):
    """The throttle's cache could not be reached: fail closed (503) rather than stop counting."""

    code = "throttle_unavailable"
