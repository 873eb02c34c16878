"""The provider's own browser sign-in: the session cookie and CSRF tokens of its forms.

The cookie holds 256 random bits; the server keeps only their SHA-256 and the session row, so
signing out (or the account being disabled) ends it on the server, not just in the browser. A
browser session no longer counts once the account is disabled, its password changed after the
sign-in, or "log out everywhere" / a reset wrote a revocation threshold after it.

CSRF (OWASP's signed double-submit cookie): a random value in a ``HttpOnly`` cookie, and in
each form an HMAC of it — bound to the browser session once there is one — under a server key.
A site that can plant cookies still cannot compute the form value without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.account.models import User, UserStatus
from roadbed_auth.account.repository import get_user
from roadbed_auth.context import RequestContext
from roadbed_auth.oauth import repository
from roadbed_auth.oauth.models import BrowserSession
from roadbed_auth.oauth.secrets import MAX_OPAQUE_LENGTH, digest, new_opaque_value
from roadbed_auth.session import service as sessions
from roadbed_core.cache import AsyncCache
from roadbed_core.tokens.revocation import anot_before_of

SESSION_COOKIE: Final = "roadbed_auth_session"
CSRF_COOKIE: Final = "roadbed_auth_csrf"


@dataclass(frozen=True, slots=True)
class BrowserPolicy:
    lifetime: timedelta
    #: ``Secure`` cookies; relaxed only for an ``http://`` loopback origin in development.
    secure_cookies: bool
    #: Keys the CSRF HMAC (derived from the service's secret key).
    csrf_key: bytes = b""


@dataclass(frozen=True, slots=True)
class SignedIn:
    browser_session: BrowserSession
    user: User


async def sign_in(
    db: AsyncSession,
    *,
    user: User,
    amr: str,
    context: RequestContext,
    now: datetime,
    policy: BrowserPolicy,
    previous_cookie: str | None = None,
) -> tuple[BrowserSession, str]:
    """Open a browser session; returns it and the cookie value (shown to the browser only).

    A session the browser already had ends: each sign-in gets a fresh identifier (no session
    fixation), and signing in as someone else leaves nothing of the first user behind.
    """
    if previous_cookie and len(previous_cookie) <= MAX_OPAQUE_LENGTH:
        previous = await repository.get_browser_session_by_digest(db, digest(previous_cookie))
        if previous is not None:
            await repository.revoke_browser_session(db, browser_session_id=previous.id, now=now)
    cookie = new_opaque_value()
    browser_session = BrowserSession(
        id=uuid.uuid4(),
        token_hash=digest(cookie),
        user_id=user.id,
        auth_time=now,
        amr=amr,
        created_at=now,
        expires_at=now + policy.lifetime,
        user_agent=context.user_agent[:512],
        ip_address=context.ip_address[:64],
    )
    await repository.add_browser_session(db, browser_session)
    return browser_session, cookie


async def current(
    db: AsyncSession, *, cookie: str | None, now: datetime, cache: AsyncCache
) -> SignedIn | None:
    """Who this browser is signed in as, or ``None`` (no cookie, unknown, ended or stale)."""
    if not cookie or len(cookie) > MAX_OPAQUE_LENGTH:
        return None
    browser_session = await repository.get_browser_session_by_digest(db, digest(cookie))
    if (
        browser_session is None
        or browser_session.revoked_at is not None
        or browser_session.expires_at <= now
    ):
        return None
    user = await get_user(db, browser_session.user_id)
    if (
        user is None
        or user.status != UserStatus.ACTIVE
        or user.password_changed_at > browser_session.auth_time
    ):
        return None
    threshold = await anot_before_of(cache, str(user.id))
    if threshold is not None and browser_session.created_at.timestamp() < threshold:
        return None
    return SignedIn(browser_session=browser_session, user=user)


async def sign_out(db: AsyncSession, *, signed_in: SignedIn, now: datetime) -> int:
    """End the browser session and the sessions its authorizations opened; returns how many."""
    browser_session = signed_in.browser_session
    await repository.revoke_browser_session(db, browser_session_id=browser_session.id, now=now)
    ended = 0
    for session_id in await repository.sessions_of_browser_session(
        db, browser_session_id=browser_session.id
    ):
        ended += await sessions.revoke_all_matching(
            db, user_id=signed_in.user.id, session_id=session_id, reason="logout", now=now
        )
    return ended


def new_csrf_cookie() -> str:
    return new_opaque_value()


def csrf_token(*, key: bytes, cookie: str, binding: str = "") -> str:
    """The form value for a CSRF cookie (``binding``: the browser session id once signed in)."""
    message = b"roadbed-auth-csrf\x00" + cookie.encode() + b"\x00" + binding.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def csrf_valid(*, key: bytes, cookie: str | None, submitted: str | None, binding: str = "") -> bool:
    if not cookie or not submitted or len(cookie) > MAX_OPAQUE_LENGTH or len(submitted) != 64:
        return False
    expected = csrf_token(key=key, cookie=cookie, binding=binding)
    return hmac.compare_digest(expected, submitted)
