"""Second-factor rules: enrolment, verification at sign-in, recovery codes, disabling.

A TOTP code works once: the accepted time step is stored with a guarded UPDATE (the record that
lasts) and claimed in the shared cache (closing the gap between two requests carrying the same
code). A recovery code is spent with a guarded UPDATE. A password reset changes only the
password, so it never bypasses the second factor.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.account.models import RecoveryCode, User
from roadbed_auth.audit import service as audit
from roadbed_auth.context import RequestContext
from roadbed_auth.digests import token_digest
from roadbed_auth.mfa.crypto import decrypt_secret, encrypt_secret
from roadbed_auth.mfa.recovery import RecoveryCodes
from roadbed_auth.mfa.totp import (
    TotpReplayGuard,
    generate_totp_secret,
    provisioning_uri,
    verify_totp,
)
from roadbed_core.cache import AsyncCache
from roadbed_core.errors import BadRequest, Conflict, Unauthorized

CHALLENGE_TTL_SECONDS = 300
_CHALLENGE_PREFIX = "roadbed:auth:mfa:challenge:"
RECOVERY = RecoveryCodes()


class MfaRequired(Unauthorized):
    code = "mfa_required"
    title = "A second factor is required"


class InvalidMfaCode(Unauthorized):
    code = "invalid_mfa_code"
    title = "The code is not valid"


class InvalidMfaChallenge(Unauthorized):
    code = "invalid_mfa_challenge"
    title = "The sign-in attempt has expired; sign in again"


class MfaStateConflict(Conflict):
    code = "mfa_state_conflict"
    title = "Two-factor authentication is not in the state this needs"


class MissingSecondFactor(BadRequest):
    code = "missing_second_factor"
    title = "Give either a TOTP code or a recovery code"


@dataclass(frozen=True, slots=True)
class Enrollment:
    secret: str
    otpauth_uri: str


@dataclass(frozen=True, slots=True)
class MfaKeys:
    """Encryption of TOTP secrets at rest: the current key and the ones still accepted."""

    current: bytes
    previous: tuple[bytes, ...] = ()

    def seal(self, secret: str, *, user_id: uuid.UUID) -> bytes:
        return encrypt_secret(secret, key=self.current, user_id=user_id)

    def open(self, stored: bytes, *, user_id: uuid.UUID) -> str:
        return decrypt_secret(
            stored, key=self.current, user_id=user_id, previous_keys=self.previous
        )


async def start_enrollment(
    db: AsyncSession,
    *,
    user: User,
    keys: MfaKeys,
    now: datetime,
) -> Enrollment:
    """Create a pending TOTP secret (replacing an unconfirmed one); MFA is on after confirmation.

    Like every change below, the caller confirmed the password first.
    """
    if user.mfa_enabled_at is not None:
        raise MfaStateConflict("Two-factor authentication is already on; turn it off first.")
    secret = generate_totp_secret()
    user.totp_secret = keys.seal(secret, user_id=user.id)
    user.totp_last_step = None
    user.updated_at = now
    await db.flush()
    return Enrollment(secret=secret, otpauth_uri=provisioning_uri(secret=secret, email=user.email))


async def confirm_enrollment(
    db: AsyncSession,
    *,
    user: User,
    code: str,
    keys: MfaKeys,
    guard: TotpReplayGuard,
    context: RequestContext,
    now: datetime,
) -> list[str]:
    """Turn MFA on with a first valid code; returns the recovery codes (shown once)."""
    if user.mfa_enabled_at is not None or user.totp_secret is None:
        raise MfaStateConflict("Start enrolment first.")
    await _accept_totp(db, user=user, code=code, keys=keys, guard=guard, now=now)
    user.mfa_enabled_at = now
    codes = await _replace_recovery_codes(db, user=user)
    await audit.record(
        db, action="mfa.enabled", context=context, now=now, actor_id=user.id, subject_id=user.id
    )
    return codes


async def regenerate_recovery_codes(
    db: AsyncSession,
    *,
    user: User,
    context: RequestContext,
    now: datetime,
) -> list[str]:
    if user.mfa_enabled_at is None:
        raise MfaStateConflict("Two-factor authentication is off.")
    codes = await _replace_recovery_codes(db, user=user)
    await audit.record(
        db,
        action="mfa.recovery_codes_regenerated",
        context=context,
        now=now,
        actor_id=user.id,
        subject_id=user.id,
    )
    return codes


async def disable(
    db: AsyncSession,
    *,
    user: User,
    context: RequestContext,
    now: datetime,
) -> None:
    if user.mfa_enabled_at is None:
        raise MfaStateConflict("Two-factor authentication is already off.")
    user.mfa_enabled_at = None
    user.totp_secret = None
    user.totp_last_step = None
    user.updated_at = now
    await db.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id).values(used_at=now)
    )
    await audit.record(
        db, action="mfa.disabled", context=context, now=now, actor_id=user.id, subject_id=user.id
    )


async def verify_second_factor(
    db: AsyncSession,
    *,
    user: User,
    code: str | None,
    recovery_code: str | None,
    keys: MfaKeys,
    guard: TotpReplayGuard,
    context: RequestContext,
    now: datetime,
) -> str:
    """Check the second factor at sign-in; returns the RFC 8176 method used ("otp" or "kba")."""
    if (code is None) == (recovery_code is None):
        raise MissingSecondFactor()
    if code is not None:
        await _accept_totp(db, user=user, code=code, keys=keys, guard=guard, now=now)
        method = "otp"
    else:
        assert recovery_code is not None  # noqa: S101 - exactly one is set (checked above)
        await _spend_recovery_code(db, user=user, code=recovery_code, now=now)
        method = "kba"
    await audit.record(
        db,
        action="mfa.verified",
        context=context,
        now=now,
        subject_id=user.id,
        details={"method": method},
    )
    return method


async def record_failed_verification(
    db: AsyncSession, *, user_id: uuid.UUID, context: RequestContext, now: datetime
) -> None:
    """Audit a wrong second factor, in a transaction of its own that commits (the verifying one
    rolls back with the failure)."""
    await audit.record(db, action="mfa.failed", context=context, now=now, subject_id=user_id)


async def _accept_totp(
    db: AsyncSession, *, user: User, code: str, keys: MfaKeys, guard: TotpReplayGuard, now: datetime
) -> None:
    if user.totp_secret is None:
        raise InvalidMfaCode()
    secret = keys.open(user.totp_secret, user_id=user.id)
    step = verify_totp(secret, code, last_used_step=user.totp_last_step, now=now)
    if step is None or not await guard.claim(user_id=user.id, step=step):
        raise InvalidMfaCode()
    stored = await db.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if not stored.rowcount:  # type: ignore[attr-defined]
        raise InvalidMfaCode()
    user.totp_last_step = step


async def _spend_recovery_code(db: AsyncSession, *, user: User, code: str, now: datetime) -> None:
    rows = (
        await db.execute(
            select(RecoveryCode.id, RecoveryCode.code_hash).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
    ).all()
    index = RECOVERY.match([row.code_hash for row in rows], code)
    if index is None:
        raise InvalidMfaCode()
    spent = await db.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == rows[index].id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not spent.rowcount:  # type: ignore[attr-defined]
        raise InvalidMfaCode()


async def _replace_recovery_codes(db: AsyncSession, *, user: User) -> list[str]:
    await db.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=user.updated_at)
    )
    plain, hashes = RECOVERY.generate()
    for digest in hashes:
        db.add(RecoveryCode(user_id=user.id, code_hash=digest))
    await db.flush()
    return plain


# --- the sign-in challenge between the password step and the second factor ---------------------


async def open_challenge(cache: AsyncCache, *, user_id: uuid.UUID) -> str:
    """A short-lived, single-use token proving the password step passed (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    key = _CHALLENGE_PREFIX + token_digest(token)
    await cache.set(key, json.dumps({"user_id": str(user_id)}).encode(), ttl=CHALLENGE_TTL_SECONDS)
    return token


async def read_challenge(cache: AsyncCache, token: str) -> uuid.UUID:
    raw = await cache.get(_CHALLENGE_PREFIX + token_digest(token))
    if raw is None:
        raise InvalidMfaChallenge()
    return uuid.UUID(json.loads(raw)["user_id"])


async def close_challenge(cache: AsyncCache, token: str) -> None:
    """Spend the challenge; a second completion with it fails."""
    if not await cache.delete(_CHALLENGE_PREFIX + token_digest(token)):
        raise InvalidMfaChallenge()
