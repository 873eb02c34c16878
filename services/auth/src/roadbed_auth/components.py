"""The long-lived collaborators of the auth app, built once in its lifespan.

Endpoints reach them through :func:`components`; tests build the app with real ones (SQLite or
PostgreSQL, in-process cache or Redis) and low argon2 costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_auth.account.service import AccountPolicy
from roadbed_auth.config import AuthSettings
from roadbed_auth.mfa.service import MfaKeys
from roadbed_auth.mfa.totp import TotpReplayGuard
from roadbed_auth.password.hasher import PasswordHasher
from roadbed_auth.password.policy import PasswordPolicy
from roadbed_auth.session.service import SessionPolicy
from roadbed_auth.throttle.limiter import RateLimiter
from roadbed_auth.throttle.login import LoginThrottle
from roadbed_core.cache import AsyncCache
from roadbed_core.tokens.verifier import TokenVerifier


@dataclass(frozen=True, slots=True)
class MintedAccessToken:
    token: str
    jti: str
    expires_at: datetime
    expires_in: int


class AccessTokenMinter(Protocol):
    async def mint(
        self,
        *,
        subject: str,
        client_id: str,
        scope: str,
        roles: list[str],
        session_id: str | None,
        auth_time: datetime,
    ) -> MintedAccessToken: ...


@dataclass(frozen=True)
class AuthComponents:
    settings: AuthSettings
    sessions: async_sessionmaker[AsyncSession]
    cache: AsyncCache
    hasher: PasswordHasher
    password_policy: PasswordPolicy
    login_throttle: LoginThrottle
    registration_limiter: RateLimiter
    reset_limiter: RateLimiter
    minter: AccessTokenMinter
    verifier: TokenVerifier
    mfa_keys: MfaKeys
    totp_guard: TotpReplayGuard
    #: Second-factor attempts are counted apart from passwords (a right password must not
    #: clear the failures of a six-digit code being guessed).
    mfa_throttle: LoginThrottle

    @property
    def account_policy(self) -> AccountPolicy:
        return AccountPolicy(
            verification_ttl=timedelta(seconds=self.settings.email_verification_ttl_seconds),
            reset_ttl=timedelta(seconds=self.settings.password_reset_ttl_seconds),
            public_origin=self.settings.public_origin.rstrip("/"),
        )

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            lifetime=timedelta(seconds=self.settings.session_ttl_seconds),
            reuse_grace=timedelta(seconds=self.settings.refresh_reuse_grace_seconds),
            child_secret=self.settings.refresh_token_secret.get_secret_value().encode(),
        )


def components(request: Request) -> AuthComponents:
    found: AuthComponents = request.app.state.auth
    return found


def utc_now() -> datetime:
    return datetime.now(UTC)
