"""Passwords: argon2id hashing in a bounded pool, legacy-hash upgrade, and the ASVS V6.2 policy."""

from __future__ import annotations

from roadbed_auth.password.breached import (
    BreachCheckUnavailable,
    BreachedPasswordChecker,
    NoBreachedPasswordChecker,
)
from roadbed_auth.password.errors import PasswordHasherBusy, WeakPassword
from roadbed_auth.password.formats import HashScheme, identify_scheme
from roadbed_auth.password.hasher import (
    OWASP_ARGON2_PARAMETERS,
    Argon2Parameters,
    PasswordHasher,
    VerifyResult,
)
from roadbed_auth.password.policy import PasswordPolicy, load_common_passwords

__all__ = [
    "OWASP_ARGON2_PARAMETERS",
    "Argon2Parameters",
    "BreachCheckUnavailable",
    "BreachedPasswordChecker",
    "HashScheme",
    "NoBreachedPasswordChecker",
    "PasswordHasher",
    "PasswordHasherBusy",
    "PasswordPolicy",
    "VerifyResult",
    "WeakPassword",
    "identify_scheme",
    "load_common_passwords",
]
