"""The password policy for new passwords, per OWASP ASVS 5.0 V6.2 (and NIST SP 800-63B).

What it enforces, and why it enforces nothing else:

* Length, counted in Unicode code points of the password exactly as received: at least 8
  (V6.2.1; configurable upwards, never below 8) and at most 1024 by default (V6.2.9 asks that
  at least 64 be allowed; the ceiling only exists to bound hashing work). The password is not
  NFKC-normalised for counting because it is not normalised for hashing either (V6.2.8: verify
  exactly as received), so the count is of what is actually stored.
* No composition rules (V6.2.5): any printable Unicode, spaces and emoji included. Only control
  characters (category Cc) and lone surrogates (Cs) are refused, as they cannot be typed into a
  password field and only arrive by mistake or as an attack on some downstream parser.
* Not one of the bundled common passwords (V6.2.4), compared case-insensitively.
* Not the account's own email, email local part or display name, nor the service's own context
  words (V6.2.11), nor one of those wrapped in digits or punctuation ("roadbed2024!").
* Optionally, not a breached password (V6.2.12), through a :class:`BreachedPasswordChecker`.

All violations are reported together, so the user fixes them in one round trip.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Iterable
from importlib import resources
from typing import Final

from roadbed_auth.password.breached import (
    BreachCheckUnavailable,
    BreachedPasswordChecker,
    NoBreachedPasswordChecker,
)
from roadbed_auth.password.errors import WeakPassword
from roadbed_core.errors import FieldError

logger = logging.getLogger(__name__)

#: ASVS V6.2.1 minimum; the policy refuses to be configured below it.
MINIMUM_LENGTH_FLOOR: Final = 8
#: ASVS V6.2.9: at least 64 characters must be allowed.
MAXIMUM_LENGTH_FLOOR: Final = 64
DEFAULT_MIN_LENGTH: Final = 8
DEFAULT_MAX_LENGTH: Final = 1024
#: Words that belong to this service rather than to any user (ASVS V6.2.11's documented list).
DEFAULT_CONTEXT_WORDS: Final = ("roadbed", "roadbed auth")

_COMMON_PASSWORDS_RESOURCE: Final = "common_passwords.txt"
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cs"})


def comparable(text: str) -> str:
    """The form in which passwords are compared with lists and user data (never for hashing).

    NFKC folds compatibility variants (full-width letters, ligatures), ``casefold`` folds case
    beyond ASCII, and whitespace is removed so "pass word" and "password" count as the same.
    """
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _strip_decoration(text: str) -> str:
    """``text`` without the digits and symbols users wrap around a word ("!roadbed2024")."""
    start, end = 0, len(text)
    while start < end and not text[start].isalpha():
        start += 1
    while end > start and not text[end - 1].isalpha():
        end -= 1
    return text[start:end]


@functools.cache
def load_common_passwords() -> frozenset[str]:
    """The bundled common-password list, in :func:`comparable` form (read once per process)."""
    text = resources.files(__package__).joinpath(_COMMON_PASSWORDS_RESOURCE).read_text("utf-8")
    return frozenset(
        comparable(line)
        for line in text.splitlines()
        if line.strip() and line != "#" and not line.startswith("# ")
    )


class PasswordPolicy:
    """Decides whether a new password may be set; stateless apart from its configuration."""

    def __init__(
        self,
        *,
        min_length: int = DEFAULT_MIN_LENGTH,
        max_length: int = DEFAULT_MAX_LENGTH,
        common_passwords: Iterable[str] | None = None,
        context_words: Iterable[str] = DEFAULT_CONTEXT_WORDS,
        breached_password_checker: BreachedPasswordChecker | None = None,
    ) -> None:
        """Configure the policy.

        ``common_passwords`` replaces the bundled list (``None``: the bundled one).
        ``context_words`` are service-specific words refused for every account.
        ``breached_password_checker`` defaults to one that knows no breaches.
        """
        if min_length < MINIMUM_LENGTH_FLOOR:
            raise ValueError(f"min_length must be at least {MINIMUM_LENGTH_FLOOR} (ASVS V6.2.1)")
        if max_length < max(MAXIMUM_LENGTH_FLOOR, min_length):
            raise ValueError(
                f"max_length must be at least {MAXIMUM_LENGTH_FLOOR} (ASVS V6.2.9) and min_length"
            )
        self.min_length = min_length
        self.max_length = max_length
        self._common_passwords = (
            load_common_passwords()
            if common_passwords is None
            else frozenset(comparable(password) for password in common_passwords)
        )
        self._context_words = tuple(word for word in context_words if word.strip())
        self._breached_password_checker = breached_password_checker or NoBreachedPasswordChecker()

    async def check(
        self,
        password: str,
        *,
        email: str | None = None,
        display_name: str | None = None,
        field: str = "password",
    ) -> None:
        """Raise :class:`WeakPassword` listing every violation, or return if the password is fine.

        ``field`` names the input in the field errors (``new_password`` on a password change).
        """
        violations = await self.violations(
            password, email=email, display_name=display_name, field=field
        )
        if violations:
            raise WeakPassword("The password does not meet the password policy.", errors=violations)

    async def violations(
        self,
        password: str,
        *,
        email: str | None = None,
        display_name: str | None = None,
        field: str = "password",
    ) -> tuple[FieldError, ...]:
        """Every rule ``password`` breaks, in a stable order; empty when it may be set."""
        violations: list[FieldError] = []
        length = len(password)  # code points, as received
        if length < self.min_length:
            violations.append(
                FieldError(
                    field=field,
                    message=f"Password must be at least {self.min_length} characters long.",
                    code="too_short",
                )
            )
        if length > self.max_length:
            # Longer input is not inspected further: the user must shorten it anyway, and
            # normalising megabytes would be work done for an attacker.
            violations.append(
                FieldError(
                    field=field,
                    message=f"Password must be at most {self.max_length} characters long.",
                    code="too_long",
                )
            )
            return tuple(violations)
        if any(unicodedata.category(character) in _REFUSED_CATEGORIES for character in password):
            violations.append(
                FieldError(
                    field=field,
                    message="Password must not contain control characters.",
                    code="invalid_character",
                )
            )
        candidate = comparable(password)
        if candidate in self._common_passwords:
            violations.append(
                FieldError(
                    field=field,
                    message="This password is too common; choose one that is harder to guess.",
                    code="common_password",
                )
            )
        if self._matches_context(candidate, email=email, display_name=display_name):
            violations.append(
                FieldError(
                    field=field,
                    message="Password must not be your email address, your name or the site's name.",
                    code="contains_user_data",
                )
            )
        if not violations and await self._is_breached(password):
            # Only asked once the local rules pass: any local violation already forces a new
            # password, so the remote call would cost time and reveal a password hash prefix
            # for nothing.
            violations.append(
                FieldError(
                    field=field,
                    message="This password has appeared in a data breach; choose another.",
                    code="breached_password",
                )
            )
        return tuple(violations)

    def _matches_context(
        self, candidate: str, *, email: str | None, display_name: str | None
    ) -> bool:
        words = list(self._context_words)
        if email:
            words += [email, email.rpartition("@")[0]]
        if display_name:
            words.append(display_name)
        candidate_core = _strip_decoration(candidate)
        for word in words:
            comparable_word = comparable(word)
            if not comparable_word:
                continue
            if candidate == comparable_word:
                return True
            word_core = _strip_decoration(comparable_word)
            if word_core and candidate_core == word_core:
                return True
        return False

    async def _is_breached(self, password: str) -> bool:
        try:
            return await self._breached_password_checker.is_breached(password)
        except BreachCheckUnavailable:
            logger.warning("breached-password check unavailable; password accepted without it")
            return False
