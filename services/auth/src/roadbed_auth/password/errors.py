"""Password errors: a weak new password (422) and a hashing pool that sheds load (503)."""

from __future__ import annotations

from roadbed_core.errors import ServiceUnavailable, ValidationFailed


class WeakPassword(ValidationFailed):
    """A new password breaks the policy; ``errors`` lists every violation at once."""

    code = "weak_password"
    title = "Weak password"


class PasswordHasherBusy(ServiceUnavailable):
    """Too many hash requests are already waiting: answering 503 now beats a timeout later."""

    code = "password_hasher_busy"
    title = "Password hashing is busy"
