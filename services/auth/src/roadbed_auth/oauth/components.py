"""What the OAuth endpoints work with, built once in the app's lifespan (``app.state.oauth``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

import jinja2
import structlog
from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError

from roadbed_auth.components import AuthComponents, utc_now
from roadbed_auth.config import AuthSettings
from roadbed_auth.context import RequestContext
from roadbed_auth.keys.issuer import AccessTokenIssuer, IdTokenIssuer
from roadbed_auth.keys.keyring import SigningKeyRing
from roadbed_auth.oauth import clients
from roadbed_auth.oauth.browser import BrowserPolicy
from roadbed_auth.oauth.grants import Minting
from roadbed_auth.oauth.tokens import TokenReader
from roadbed_auth.throttle.limiter import RateLimiter
from roadbed_core.db import unit_of_work
from roadbed_core.tokens.revocation import RevocationList

logger = structlog.get_logger(__name__)

#: RFC 6749 §4.1.2 recommends at most ten minutes; a browser round trip needs seconds.
CODE_TTL: Final = timedelta(seconds=60)
#: How long a sign-in at the provider lasts (absolute).
BROWSER_SESSION_TTL: Final = timedelta(hours=12)
LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
#: User codes one client address may try per window: plenty for typos, hopeless for guessing
#: 20^8 codes.
USER_CODE_ATTEMPTS: Final = 20
USER_CODE_WINDOW_SECONDS: Final = 900.0


@dataclass(frozen=True)
class OAuthComponents:
    auth: AuthComponents
    minting: Minting
    reader: TokenReader
    browser: BrowserPolicy
    templates: jinja2.Environment
    #: Typed user codes per client address (RFC 8628 §5.1: make guessing impractical).
    user_code_limiter: RateLimiter
    code_ttl: timedelta = CODE_TTL
    clock: Callable[[], datetime] = utc_now

    @property
    def issuer(self) -> str:
        return self.auth.settings.issuer


def secure_cookies(settings: AuthSettings) -> bool:
    """``Secure`` everywhere except a development origin on ``http://`` loopback."""
    origin = urlsplit(settings.public_origin)
    return settings.is_prod or not (origin.scheme == "http" and origin.hostname in LOOPBACK)


def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("roadbed_auth.oauth", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default=True),
        undefined=jinja2.StrictUndefined,
    )


def build_oauth_components(auth: AuthComponents, keyring: SigningKeyRing) -> OAuthComponents:
    settings = auth.settings
    csrf_key = hmac.new(
        settings.secret_key.get_secret_value().encode(), b"roadbed-auth-csrf", hashlib.sha256
    ).digest()
    return OAuthComponents(
        auth=auth,
        minting=Minting(
            access_tokens=auth.minter,
            id_tokens=IdTokenIssuer(
                keyring,
                issuer=settings.issuer,
                lifetime=timedelta(seconds=settings.id_token_ttl_seconds),
            ),
            service_tokens=AccessTokenIssuer(
                keyring,
                issuer=settings.issuer,
                lifetime=timedelta(seconds=settings.access_token_ttl_seconds),
            ),
            session_policy=auth.session_policy,
        ),
        reader=TokenReader(
            jwks=auth.verifier.jwks,
            issuer=settings.issuer,
            revocation=RevocationList(async_cache=auth.cache),
            cache=auth.cache,
        ),
        browser=BrowserPolicy(
            lifetime=BROWSER_SESSION_TTL,
            secure_cookies=secure_cookies(settings),
            csrf_key=csrf_key,
        ),
        templates=templates(),
        user_code_limiter=RateLimiter(
            auth.cache,
            name="device-user-code",
            limit=USER_CODE_ATTEMPTS,
            window=USER_CODE_WINDOW_SECONDS,
            identifier_secret=settings.throttle_secret.get_secret_value().encode(),
        ),
    )


async def start_oauth(auth: AuthComponents, keyring: SigningKeyRing) -> OAuthComponents:
    """Build the components and make sure Roadbed's first-party clients exist."""
    oauth = build_oauth_components(auth, keyring)
    try:
        async with unit_of_work(auth.sessions) as db:
            created = await clients.seed_first_party(
                db,
                public_origin=auth.settings.public_origin,
                context=RequestContext(ip_address="", user_agent="startup", request_id=""),
                now=oauth.clock(),
            )
        if created:
            logger.info("oauth.first_party_clients_seeded", clients=created)
    except (SQLAlchemyError, OSError) as exc:
        # Start anyway, like the signing keys: /readyz reports the database.
        logger.warning("oauth.seed_failed", error=f"{type(exc).__name__}: {exc}")
    return oauth


def oauth_components(request: Request) -> OAuthComponents:
    found: OAuthComponents = request.app.state.oauth
    return found
