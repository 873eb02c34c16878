"""argon2id password hashing off the event loop, with legacy-hash upgrade and a timing-safe dummy.

Why a dedicated, bounded pool: one argon2id hash at the OWASP parameters costs ~19 MiB and
~25-35 ms of CPU. On the event loop that would stall every other request; in an unbounded pool a
login storm would allocate 19 MiB per concurrent login. So the work runs in a small
:class:`~concurrent.futures.ThreadPoolExecutor` of our own (argon2-cffi, bcrypt and hashlib's
PBKDF2 release the GIL, so threads give real parallelism), and an :class:`asyncio.Semaphore` caps
how much work is handed to it at once: the executor's own queue is unbounded, the semaphore's
waiters are plain coroutines, FIFO-fair. Optionally (``max_waiting``) callers beyond a queue
depth are refused with :class:`PasswordHasherBusy` (503) instead of waiting for seconds.

Verification never raises for bad data: a wrong password, a malformed or unknown stored hash all
come back as ``VerifyResult(ok=False)``, so a corrupt row is a failed login, not a 500.

Passwords are hashed exactly as received (OWASP ASVS 5.0 V6.2.8): encoded as UTF-8 with no
Unicode normalisation, no case change and no truncation. Lone surrogates (which JSON can carry)
are encoded with ``surrogatepass`` so they hash and verify consistently instead of raising.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar, TypeVarTuple

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from roadbed_auth.password.errors import PasswordHasherBusy, WeakPassword
from roadbed_auth.password.formats import (
    LEGACY_VERIFIERS,
    HashScheme,
    django_argon2_to_phc,
    identify_scheme,
)
from roadbed_core.errors import FieldError

logger = logging.getLogger(__name__)

# Longest password the hasher accepts. Login requests do not pass through the policy, so this is
# what keeps a multi-megabyte "password" from being hashed; it sits well above the policy's
# ceiling (1024) so passwords imported from systems with a larger limit still verify.
DEFAULT_MAX_PASSWORD_LENGTH: Final = 4096
_BUSY_RETRY_AFTER_SECONDS: Final = "1"

_Args = TypeVarTuple("_Args")
_Result = TypeVar("_Result")


@dataclass(frozen=True, slots=True, kw_only=True)
class Argon2Parameters:
    """argon2id cost parameters. The defaults are OWASP's first recommendation (m=19 MiB, t=2, p=1).

    Changing any of them makes every stored hash report ``needs_rehash`` on its next successful
    verification, which is how the whole user base migrates to new costs without a batch job.
    """

    memory_cost_kib: int = 19_456
    time_cost: int = 2
    parallelism: int = 1
    hash_length: int = 32
    salt_length: int = 16

    def __post_init__(self) -> None:
        if self.time_cost < 1:
            raise ValueError("time_cost must be at least 1")
        if self.parallelism < 1:
            raise ValueError("parallelism must be at least 1")
        if self.memory_cost_kib < 8 * self.parallelism:
            raise ValueError("memory_cost_kib must be at least 8 KiB per lane (argon2 minimum)")
        if self.hash_length < 16:
            raise ValueError("hash_length must be at least 16 bytes")
        if self.salt_length < 16:
            raise ValueError("salt_length must be at least 16 bytes")


#: OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
OWASP_ARGON2_PARAMETERS: Final = Argon2Parameters()


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyResult:
    """Outcome of a verification.

    ``new_hash`` is set only when the password matched and the stored hash should be replaced
    (older argon2 parameters, or a legacy format): the caller stores it in the same transaction
    that records the login. It was computed in the same pool slot as the verification.
    """

    ok: bool
    #: The stored hash's format (also for failures); ``None`` when it was not recognised.
    scheme: HashScheme | None
    new_hash: str | None = None

    @property
    def needs_rehash(self) -> bool:
        """Whether the caller should store :attr:`new_hash` in place of the old hash."""
        return self.new_hash is not None


def _encode(password: str) -> bytes:
    return password.encode("utf-8", "surrogatepass")


def _unpadded_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


class PasswordHasher:
    """Hash and verify passwords in a bounded worker pool; one instance per process and loop.

    The semaphore binds to the event loop that first waits on it, so create the hasher where
    it is used (the app lifespan) and :meth:`close` it on shutdown.
    """

    def __init__(
        self,
        *,
        parameters: Argon2Parameters = OWASP_ARGON2_PARAMETERS,
        max_concurrency: int = 2,
        max_waiting: int | None = None,
        max_password_length: int = DEFAULT_MAX_PASSWORD_LENGTH,
        executor: Executor | None = None,
    ) -> None:
        """Build the hasher.

        ``max_concurrency`` is both the semaphore's size and, when no ``executor`` is given, the
        number of worker threads (each running hash holds ``memory_cost_kib`` of memory). On a
        2-core machine 2 keeps the CPUs busy without starving the event loop. ``max_waiting``
        (``None``: unlimited) is how many callers may queue for a slot before new ones get
        :class:`PasswordHasherBusy`. An injected ``executor`` stays owned by the caller.
        """
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if max_waiting is not None and max_waiting < 0:
            raise ValueError("max_waiting must not be negative")
        if max_password_length < 64:
            raise ValueError("max_password_length must be at least 64 (ASVS V6.2.9)")
        self.parameters = parameters
        self.max_password_length = max_password_length
        self._argon2 = argon2.PasswordHasher(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_cost_kib,
            parallelism=parameters.parallelism,
            hash_len=parameters.hash_length,
            salt_len=parameters.salt_length,
            type=argon2.Type.ID,
        )
        # Verifying against a well-formed hash costs the same whatever the password, and argon2
        # only learns of a mismatch after computing the whole hash. So a PHC string with the
        # current parameters and random bytes for salt and digest makes a dummy that costs
        # exactly one real verification and can never match: unknown accounts take as long
        # to fail as known ones, and login timing does not reveal which emails exist. It is
        # public so tests and the benchmark can check that it carries the current parameters.
        self.dummy_hash: Final = (
            f"$argon2id$v={argon2.low_level.ARGON2_VERSION}"
            f"$m={parameters.memory_cost_kib},t={parameters.time_cost},p={parameters.parallelism}"
            f"${_unpadded_base64(os.urandom(parameters.salt_length))}"
            f"${_unpadded_base64(os.urandom(parameters.hash_length))}"
        )
        self._owns_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="password-hasher"
        )
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._max_waiting = max_waiting
        self._waiting = 0

    async def hash(self, password: str) -> str:
        """A new argon2id hash of ``password`` (PHC string) for storage.

        Call the password policy first; this only refuses passwords over
        ``max_password_length`` (:class:`WeakPassword`), as a last guard against huge inputs.
        """
        if len(password) > self.max_password_length:
            raise WeakPassword(
                errors=[
                    FieldError(
                        field="password",
                        message=f"Password must be at most {self.max_password_length} characters.",
                        code="too_long",
                    )
                ]
            )
        return await self._run(self._argon2.hash, _encode(password))

    async def verify(self, *, stored_hash: str, password: str) -> VerifyResult:
        """Check ``password`` against ``stored_hash`` (argon2 or an imported legacy format).

        Never raises for bad input or a bad hash: those are ``ok=False``. When the password
        matches but the hash is a legacy format or uses other argon2 parameters, the result
        carries a fresh argon2id ``new_hash`` to store.
        """
        scheme = identify_scheme(stored_hash) if stored_hash.isascii() else None
        if len(password) > self.max_password_length:
            # The same instant refusal as verify_dummy gives, so it reveals nothing either.
            return VerifyResult(ok=False, scheme=scheme)
        if scheme is None:
            logger.warning("stored password hash is in an unrecognised format; login refused")
        return await self._run(self._verify_blocking, stored_hash, scheme, _encode(password))

    async def verify_dummy(self, password: str) -> None:
        """Spend exactly what :meth:`verify` spends, then fail: call it for unknown accounts.

        Without it, "no such account" answers in microseconds and "wrong password" in tens of
        milliseconds, and the difference tells an attacker which emails are registered.
        """
        if len(password) > self.max_password_length:
            return
        await self._run(self._verify_argon2, self.dummy_hash, _encode(password))

    def close(self) -> None:
        """Stop the worker threads if this hasher created them (an injected executor is left)."""
        if self._owns_executor:
            self._executor.shutdown(wait=False)

    # --- worker-thread side -------------------------------------------------------------------

    def _verify_blocking(
        self, stored_hash: str, scheme: HashScheme | None, password: bytes
    ) -> VerifyResult:
        match scheme:
            case None:
                # Unknown format: fail, but only after the cost of a real verification, so a
                # corrupt or unsupported row is not distinguishable by timing either.
                self._verify_argon2(self.dummy_hash, password)
                return VerifyResult(ok=False, scheme=None)
            case HashScheme.ARGON2:
                ok = self._verify_argon2(stored_hash, password)
                needs_rehash = ok and self._has_outdated_parameters(stored_hash)
            case HashScheme.DJANGO_ARGON2:
                ok = self._verify_argon2(django_argon2_to_phc(stored_hash), password)
                needs_rehash = ok
            case _:
                ok = LEGACY_VERIFIERS[scheme](stored_hash, password)
                needs_rehash = ok
        if not needs_rehash:
            return VerifyResult(ok=ok, scheme=scheme)
        return VerifyResult(ok=True, scheme=scheme, new_hash=self._argon2.hash(password))

    def _verify_argon2(self, phc_hash: str, password: bytes) -> bool:
        try:
            return self._argon2.verify(phc_hash, password)
        except (VerificationError, InvalidHashError):
            # VerifyMismatchError (wrong password) is a VerificationError; so are the errors
            # argon2 reports for a decodable hash with impossible parameters.
            return False

    def _has_outdated_parameters(self, phc_hash: str) -> bool:
        try:
            return self._argon2.check_needs_rehash(phc_hash)
        except InvalidHashError:  # argon2 verified it, but it is not a canonical PHC string
            return True

    # --- pool ---------------------------------------------------------------------------------

    async def _run(self, function: Callable[[*_Args], _Result], *args: *_Args) -> _Result:
        """Run ``function`` in the pool once a slot is free; the slot is held until it finishes."""
        if (
            self._max_waiting is not None
            and self._semaphore.locked()
            and self._waiting >= self._max_waiting
        ):
            raise PasswordHasherBusy(headers={"Retry-After": _BUSY_RETRY_AFTER_SECONDS})
        self._waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self._waiting -= 1
        slot_handed_over = False
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
            try:
                # shield: a cancelled caller (client gone) must not pretend the thread stopped.
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                if not future.done():
                    # The thread keeps hashing; keep its slot taken until it really ends, or
                    # cancelled callers would let more than max_concurrency hashes run at once.
                    future.add_done_callback(self._release_abandoned_slot)
                    slot_handed_over = True
                raise
        finally:
            if not slot_handed_over:
                self._semaphore.release()

    def _release_abandoned_slot(self, future: asyncio.Future[_Result]) -> None:
        if not future.cancelled() and future.exception() is not None:
            logger.error("abandoned password hashing job failed", exc_info=future.exception())
        self._semaphore.release()
