"""The breached-password check behind an interface (OWASP ASVS 5.0 V6.2.12).

A real checker would ask a corpus of breached passwords (for example Have I Been Pwned's
k-anonymity range API, sending only a 5-hex-digit SHA-1 prefix). This deployment has no network,
so the default is :class:`NoBreachedPasswordChecker`, and the policy only consults a checker it
was configured with.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class BreachCheckUnavailable(Exception):
    """The breach corpus could not be asked (network down, timeout, rate limit).

    Checkers raise this and only this for an outage: the policy then accepts the password
    (failing open, with a warning) rather than blocking every registration on a third party.
    """


@runtime_checkable
class BreachedPasswordChecker(Protocol):
    """Tells whether a password is known from public breaches."""

    async def is_breached(self, password: str) -> bool:
        """``True`` if ``password`` appears in a breach corpus; raises :class:`BreachCheckUnavailable`."""
        ...


class NoBreachedPasswordChecker:
    """The default: knows no breaches. Stands in where no breach corpus can be reached."""

    async def is_breached(self, password: str) -> bool:
        """Always ``False``."""
        return False
