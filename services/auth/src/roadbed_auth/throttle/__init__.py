"""Brute-force defence and request budgets on the shared cache (Redis, or in-process embedded).

:class:`LoginThrottle` guards sign-in (per account and per client, backoff, lockout);
:class:`RateLimiter` guards everything else that must not be called in bulk.
"""

from __future__ import annotations

from roadbed_auth.throttle.errors import RateLimited, ThrottleUnavailable, TooManyAttempts
from roadbed_auth.throttle.keys import KEY_PREFIX, client_bucket, normalise_email
from roadbed_auth.throttle.limiter import Decision, RateLimiter, WindowKind
from roadbed_auth.throttle.login import (
    DEFAULT_ACCOUNT_RULE,
    DEFAULT_IP_RULE,
    Lockout,
    LoginThrottle,
    ThrottleRule,
    ThrottleScope,
)

__all__ = [
    "DEFAULT_ACCOUNT_RULE",
    "DEFAULT_IP_RULE",
    "KEY_PREFIX",
    "Decision",
    "Lockout",
    "LoginThrottle",
    "RateLimited",
    "RateLimiter",
    "ThrottleRule",
    "ThrottleScope",
    "ThrottleUnavailable",
    "TooManyAttempts",
    "WindowKind",
    "client_bucket",
    "normalise_email",
]
