"""The auth service's ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog
from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from roadbed_auth.account.endpoints import router as account_router
from roadbed_auth.admin.endpoints import router as admin_router
from roadbed_auth.base import signing_keys
from roadbed_auth.components import AuthComponents
from roadbed_auth.config import AuthSettings, get_settings
from roadbed_auth.keys.errors import SigningKeyUnavailable
from roadbed_auth.keys.factory import key_service_from_settings
from roadbed_auth.keys.issuer import AccessTokenIssuer
from roadbed_auth.keys.keyring import SigningKeyRing
from roadbed_auth.mfa.endpoints import router as mfa_router
from roadbed_auth.mfa.service import MfaKeys
from roadbed_auth.mfa.totp import TotpReplayGuard
from roadbed_auth.minting import SessionTokenMinter
from roadbed_auth.oauth.components import start_oauth
from roadbed_auth.oauth.endpoints import router as oauth_router
from roadbed_auth.password.hasher import Argon2Parameters, PasswordHasher
from roadbed_auth.password.policy import PasswordPolicy
from roadbed_auth.session.endpoints import router as session_router
from roadbed_auth.throttle.limiter import RateLimiter
from roadbed_auth.throttle.login import LoginThrottle, ThrottleRule
from roadbed_auth.wellknown import router as wellknown_router
from roadbed_core.runtime import AsyncResources, create_fastapi_service
from roadbed_core.tokens.fastapi import install_token_verifier
from roadbed_core.tokens.jwks import JwksClient
from roadbed_core.tokens.revocation import RevocationList
from roadbed_core.tokens.verifier import TokenVerifier

HOUR = 3600.0

logger = structlog.get_logger(__name__)


def build_components(
    settings: AuthSettings, resources: AsyncResources, keyring: SigningKeyRing
) -> AuthComponents:
    """Every collaborator of the endpoints, from settings (the hasher binds to the running loop)."""
    throttle_secret = settings.throttle_secret.get_secret_value().encode()
    account_rule = ThrottleRule(
        max_failures=settings.login_account_max_failures,
        window=settings.login_failure_window_seconds,
        lockout=settings.login_lockout_seconds,
        max_lockout=settings.login_max_lockout_seconds,
    )
    ip_rule = ThrottleRule(
        max_failures=settings.login_ip_max_failures,
        window=settings.login_failure_window_seconds,
        lockout=settings.login_lockout_seconds,
        max_lockout=settings.login_max_lockout_seconds,
    )
    issuer = AccessTokenIssuer(
        keyring,
        issuer=settings.issuer,
        lifetime=timedelta(seconds=settings.access_token_ttl_seconds),
    )
    verifier = TokenVerifier(
        JwksClient.from_loader(keyring.last_published),
        issuer=settings.issuer,
        audience=settings.token_audience,
        revocation=RevocationList(async_cache=resources.cache),
    )
    return AuthComponents(
        settings=settings,
        sessions=resources.sessions,
        cache=resources.cache,
        hasher=PasswordHasher(
            parameters=Argon2Parameters(
                memory_cost_kib=settings.argon2_memory_kib,
                time_cost=settings.argon2_time_cost,
                parallelism=settings.argon2_parallelism,
            ),
            max_concurrency=settings.password_hash_workers,
            # A login storm queues a bounded number of hashes, then answers 503 with Retry-After.
            max_waiting=64 * settings.password_hash_workers,
            max_password_length=4096,
        ),
        password_policy=PasswordPolicy(
            min_length=settings.password_min_length, max_length=settings.password_max_length
        ),
        login_throttle=LoginThrottle(
            resources.cache,
            identifier_secret=throttle_secret,
            account_rule=account_rule,
            ip_rule=ip_rule,
        ),
        registration_limiter=RateLimiter(
            resources.cache,
            name="register",
            limit=settings.registration_per_hour,
            window=HOUR,
            identifier_secret=throttle_secret,
        ),
        reset_limiter=RateLimiter(
            resources.cache,
            name="password-reset",
            limit=settings.password_reset_per_hour,
            window=HOUR,
            identifier_secret=throttle_secret,
        ),
        mfa_keys=MfaKeys(current=settings.mfa_encryption_key.get_secret_value().encode()),
        totp_guard=TotpReplayGuard(resources.cache),
        mfa_throttle=LoginThrottle(
            resources.cache,
            identifier_secret=throttle_secret,
            name="mfa",
            account_rule=account_rule,
            ip_rule=ip_rule,
        ),
        minter=SessionTokenMinter(issuer, audience=settings.token_audience, cache=resources.cache),
        verifier=verifier,
    )


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    """Build the auth app (identity, tokens, OAuth2 / OpenID Connect provider)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def auth_lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources: AsyncResources = app.state.resources
        keyring = SigningKeyRing(
            sessionmaker=resources.sessions,
            service=key_service_from_settings(settings, table=signing_keys),
        )
        try:
            await keyring.ensure_keys()  # first start: one active key per algorithm (race-safe)
        except (SQLAlchemyError, OSError, SigningKeyUnavailable) as exc:
            # Start anyway: /readyz reports the database, and signing retries on first use.
            logger.warning(
                "auth.signing_keys_unavailable_at_start", error=f"{type(exc).__name__}: {exc}"
            )
        components = build_components(settings, resources, keyring)
        app.state.keyring = keyring
        app.state.auth = components
        app.state.oauth = await start_oauth(components, keyring)
        install_token_verifier(app, components.verifier)
        try:
            yield
        finally:
            components.hasher.close()

    return create_fastapi_service(
        settings,
        title="Roadbed auth",
        description="Identity: accounts, argon2id passwords, JWT access tokens, rotating refresh "
        "tokens, roles, and an OAuth2 / OpenID Connect provider with JWKS.",
        routers=(
            wellknown_router,
            account_router,
            session_router,
            mfa_router,
            admin_router,
            oauth_router,
        ),
        extra_lifespan=auth_lifespan,
    )
