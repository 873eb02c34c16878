"""Account rules: registration, email verification, login, password change and reset.

No account enumeration (ASVS V6.3): registration, login and reset answer the same way, in about
the same time, whether or not the address has an account — an unknown address still pays for a
password hash. Functions only flush; the caller's unit of work commits.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.account import repository
from roadbed_auth.account.errors import InvalidOneTimeToken
from roadbed_auth.account.events import emit, emit_user_deleted, emit_user_updated
from roadbed_auth.account.models import OneTimeToken, TokenPurpose, User, UserStatus
from roadbed_auth.account.roles import DEFAULT_ROLES
from roadbed_auth.audit import service as audit
from roadbed_auth.context import RequestContext
from roadbed_auth.digests import token_digest
from roadbed_auth.password.hasher import PasswordHasher, VerifyResult
from roadbed_auth.password.policy import PasswordPolicy
from roadbed_core.errors import NotFound


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    verification_ttl: timedelta
    reset_ttl: timedelta
    #: Where links in emails point (the web pages come with the OAuth issue; the API accepts the token).
    public_origin: str


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "User not found"


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def _issue_link(
    db: AsyncSession, *, user: User, purpose: TokenPurpose, ttl: timedelta, now: datetime
) -> tuple[str, datetime]:
    await repository.expire_one_time_tokens(db, user_id=user.id, purpose=purpose, now=now)
    token = secrets.token_urlsafe(32)
    expires_at = now + ttl
    await repository.add_one_time_token(
        db,
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=expires_at,
        ),
    )
    return token, expires_at


async def register(
    db: AsyncSession,
    *,
    email: str,
    password: str,
    display_name: str,
    hasher: PasswordHasher,
    checker: PasswordPolicy,
    policy: AccountPolicy,
    context: RequestContext,
    now: datetime,
) -> None:
    """Create an account and mail a verification link; for a taken address, mail its owner instead."""
    email = normalise_email(email)
    await checker.check(password, email=email, display_name=display_name)
    password_hash = await hasher.hash(password)  # paid either way: equal timing
    existing = await repository.get_user_by_email(db, email)
    if existing is not None:
        await emit(
            db,
            "roadbed.auth.registration.duplicate_attempted.v1",
            {
                "user_id": str(existing.id),
                "email": existing.email,
                "display_name": existing.display_name,
            },
            subject=str(existing.id),
        )
        return
    user = User(
        id=uuid.uuid4(),
        email=email,
        display_name=display_name,
        password_hash=password_hash,
        status=UserStatus.ACTIVE,
        password_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    try:
        async with db.begin_nested():  # a concurrent registration of the same address wins
            db.add(user)
            await db.flush()
    except IntegrityError:
        return
    await repository.grant_roles(db, user=user, roles=DEFAULT_ROLES, now=now)
    token, expires_at = await _issue_link(
        db, user=user, purpose=TokenPurpose.VERIFY_EMAIL, ttl=policy.verification_ttl, now=now
    )
    await audit.record(
        db,
        action="account.registered",
        context=context,
        now=now,
        subject_id=user.id,
        actor_id=user.id,
    )
    await emit(
        db,
        "roadbed.auth.user.registered.v1",
        {
            "user_id": str(user.id),
            "email": user.email,
            "display_name": user.display_name,
            "roles": list(DEFAULT_ROLES),
        },
        subject=str(user.id),
    )
    await emit(
        db,
        "roadbed.auth.email_verification.requested.v1",
        {
            "user_id": str(user.id),
            "email": user.email,
            "display_name": user.display_name,
            "token": token,
            "verify_url": f"{policy.public_origin}/auth/verify-email?token={token}",
            "expires_at": expires_at.isoformat(),
        },
        subject=str(user.id),
    )


async def verify_email(
    db: AsyncSession, *, token: str, context: RequestContext, now: datetime
) -> User:
    user_id = await repository.consume_one_time_token(
        db, digest=token_digest(token), purpose=TokenPurpose.VERIFY_EMAIL, now=now
    )
    user = None if user_id is None else await repository.get_user(db, user_id)
    if user is None:
        raise InvalidOneTimeToken()
    if user.email_verified_at is None:
        user.email_verified_at = now
        user.updated_at = now
    await audit.record(
        db,
        action="account.email_verified",
        context=context,
        now=now,
        subject_id=user.id,
        actor_id=user.id,
    )
    await emit_user_updated(db, user)
    return user


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The outcome of checking a password, made with no database transaction open."""

    user: User | None
    result: VerifyResult | None

    @property
    def accepted(self) -> bool:
        return (
            self.user is not None
            and self.result is not None
            and self.result.ok
            and self.user.status == UserStatus.ACTIVE
        )


async def find_for_login(db: AsyncSession, *, email: str) -> User | None:
    """Read the account (with roles) for a sign-in; a short read, before any slow work."""
    return await repository.get_user_by_email(db, normalise_email(email))


async def check_password(
    *, user: User | None, password: str, hasher: PasswordHasher
) -> PasswordCheck:
    """Verify the password against the account — or a dummy hash, so unknown addresses cost the same.

    Runs outside any transaction: a ~20 ms hash must not hold a database connection or lock.
    """
    if user is None:
        await hasher.verify_dummy(password)
        return PasswordCheck(user=None, result=None)
    return PasswordCheck(
        user=user, result=await hasher.verify(stored_hash=user.password_hash, password=password)
    )


async def record_authentication(
    db: AsyncSession, *, check: PasswordCheck, context: RequestContext, now: datetime
) -> User | None:
    """Audit the attempt and upgrade an outdated hash; the signed-in user, or None."""
    user, result = check.user, check.result
    if user is None or result is None:
        await audit.record(
            db, action="login.failed", context=context, now=now, details={"reason": "credentials"}
        )
        return None
    if not check.accepted:
        reason = "credentials" if not result.ok else "disabled"
        await audit.record(
            db,
            action="login.failed",
            context=context,
            now=now,
            subject_id=user.id,
            details={"reason": reason},
        )
        return None
    if result.new_hash is not None:  # parameters changed or an imported legacy hash: upgrade now
        await repository.set_password_hash(
            db, user_id=user.id, password_hash=result.new_hash, now=now
        )
    await audit.record(
        db, action="login.succeeded", context=context, now=now, subject_id=user.id, actor_id=user.id
    )
    return user


async def get_or_raise(db: AsyncSession, *, user_id: uuid.UUID) -> User:
    user = await repository.get_user(db, user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise UserNotFound()
    return user


async def request_password_reset(
    db: AsyncSession, *, email: str, policy: AccountPolicy, context: RequestContext, now: datetime
) -> None:
    """Mail a reset link when the address has an active account; the caller answers the same anyway."""
    user = await repository.get_user_by_email(db, normalise_email(email))
    if user is None or user.status != UserStatus.ACTIVE:
        await audit.record(
            db,
            action="password.reset_requested",
            context=context,
            now=now,
            details={"known": False},
        )
        return
    token, expires_at = await _issue_link(
        db, user=user, purpose=TokenPurpose.RESET_PASSWORD, ttl=policy.reset_ttl, now=now
    )
    await audit.record(
        db,
        action="password.reset_requested",
        context=context,
        now=now,
        subject_id=user.id,
        details={"known": True},
    )
    await emit(
        db,
        "roadbed.auth.password_reset.requested.v1",
        {
            "user_id": str(user.id),
            "email": user.email,
            "display_name": user.display_name,
            "token": token,
            "reset_url": f"{policy.public_origin}/auth/reset-password?token={token}",
            "expires_at": expires_at.isoformat(),
        },
        subject=str(user.id),
    )


async def reset_password(
    db: AsyncSession,
    *,
    token: str,
    new_password: str,
    hasher: PasswordHasher,
    checker: PasswordPolicy,
    context: RequestContext,
    now: datetime,
) -> User:
    """Set a new password from a reset link. The caller then ends every session of the user."""
    user_id = await repository.consume_one_time_token(
        db, digest=token_digest(token), purpose=TokenPurpose.RESET_PASSWORD, now=now
    )
    user = None if user_id is None else await repository.get_user(db, user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise InvalidOneTimeToken()
    await checker.check(
        new_password, email=user.email, display_name=user.display_name, field="new_password"
    )
    await _set_password(db, user=user, password_hash=await hasher.hash(new_password), now=now)
    # Proving control of the mailbox also proves the address.
    if user.email_verified_at is None:
        user.email_verified_at = now
    await audit.record(
        db, action="password.reset", context=context, now=now, subject_id=user.id, actor_id=user.id
    )
    return user


async def password_matches(*, user: User, password: str, hasher: PasswordHasher) -> bool:
    """Re-check the signed-in user's password before a sensitive change (no transaction open)."""
    return (await hasher.verify(stored_hash=user.password_hash, password=password)).ok


async def record_failed_confirmation(
    db: AsyncSession, *, user_id: uuid.UUID, action: str, context: RequestContext, now: datetime
) -> None:
    """Audit a wrong password on a sensitive change, in a transaction of its own that commits."""
    await audit.record(
        db,
        action=f"{action}.refused",
        context=context,
        now=now,
        subject_id=user_id,
        actor_id=user_id,
    )


async def change_password(
    db: AsyncSession,
    *,
    user: User,
    new_password: str,
    hasher: PasswordHasher,
    checker: PasswordPolicy,
    context: RequestContext,
    now: datetime,
) -> None:
    """Set a new password; the caller confirmed the current one (:func:`password_matches`)."""
    await checker.check(
        new_password, email=user.email, display_name=user.display_name, field="new_password"
    )
    await _set_password(db, user=user, password_hash=await hasher.hash(new_password), now=now)
    await audit.record(
        db,
        action="password.changed",
        context=context,
        now=now,
        subject_id=user.id,
        actor_id=user.id,
    )


async def _set_password(db: AsyncSession, *, user: User, password_hash: str, now: datetime) -> None:
    user.password_hash = password_hash
    user.password_changed_at = now
    user.updated_at = now
    await repository.expire_one_time_tokens(
        db, user_id=user.id, purpose=TokenPurpose.RESET_PASSWORD, now=now
    )
    await db.flush()


async def delete_account(
    db: AsyncSession, *, user: User, context: RequestContext, now: datetime
) -> None:
    """Erase the account (sessions and tokens go with it); other services anonymise on the event.

    The caller confirmed the password first (:func:`password_matches`).
    """
    user_id = str(user.id)
    await audit.record(
        db, action="account.deleted", context=context, now=now, subject_id=user.id, actor_id=user.id
    )
    await db.delete(user)
    await db.flush()
    await emit_user_deleted(db, user_id)
