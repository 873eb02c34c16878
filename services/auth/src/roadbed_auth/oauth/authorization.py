"""The authorization endpoint's decisions (RFC 6749 §4.1, RFC 7636, OpenID Connect Core §3.1.2).

Order matters (RFC 6749 §4.1.2.1): the client and its redirect URI are checked first, and a
failure there is shown to the user — redirecting to an unverified URI would make us an open
redirector. Every later failure goes back to the client's redirect URI with ``state`` and our
``iss`` (RFC 9207). Redirect URIs match registered ones exactly, character for character.

Only ``response_type=code`` exists (no implicit or hybrid flows, RFC 9700 §2.1.2), and PKCE with
S256 is required of every client (RFC 9700 §2.1.1); ``plain`` is refused.
Functions only flush; the caller's unit of work commits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.oauth import clients, repository
from roadbed_auth.oauth.browser import SignedIn
from roadbed_auth.oauth.errors import (
    ConsentRequired,
    InvalidRequest,
    InvalidScope,
    LoginRequired,
    OAuthError,
    RedirectedAuthorizationError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
    UntrustedAuthorizationRequest,
)
from roadbed_auth.oauth.models import AuthorizationCode, GrantType, OAuthClient
from roadbed_auth.oauth.scopes import OFFLINE_ACCESS, OPENID, parse_scope
from roadbed_auth.oauth.secrets import digest, new_opaque_value

#: Longest authorization request we read (the query string), and longest single parameter.
MAX_QUERY_LENGTH: Final = 8192
MAX_PARAMETER_LENGTH: Final = 2048
MAX_NONCE_LENGTH: Final = 255
#: An S256 challenge is base64url of 32 bytes: exactly 43 characters.
_S256_CHALLENGE: Final = re.compile(r"[A-Za-z0-9_-]{43}")
PROMPTS: Final = frozenset({"none", "login", "consent", "select_account"})


class Interaction(Enum):
    """What the user still has to do before a code can be issued."""

    LOGIN = "login"
    CONSENT = "consent"


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client: OAuthClient
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    state: str | None = None
    nonce: str | None = None
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)


def _single_values(
    items: Sequence[tuple[str, str]],
) -> tuple[dict[str, str], set[str]]:
    """Parameters by name, and the names sent more than once (RFC 6749 §3.1 forbids that)."""
    values: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in items:
        if name in values:
            repeated.add(name)
        values[name] = value
    return values, repeated


async def validate(
    db: AsyncSession, *, parameters: Sequence[tuple[str, str]]
) -> AuthorizationRequest:
    """Check an authorization request. Raises :class:`UntrustedAuthorizationRequest` while the
    redirect URI is unverified, then :class:`RedirectedAuthorizationError`."""
    values, repeated = _single_values(parameters)
    client_id = values.get("client_id", "")
    redirect_uri = values.get("redirect_uri", "")
    if {"client_id", "redirect_uri"} & repeated:
        raise UntrustedAuthorizationRequest("The request repeats client_id or redirect_uri.")
    if not client_id:
        raise UntrustedAuthorizationRequest("The request does not name a client (client_id).")
    client = await clients.get_active(db, client_id=client_id)
    if client is None:
        raise UntrustedAuthorizationRequest("This application is unknown or has been disabled.")
    if not redirect_uri:
        raise UntrustedAuthorizationRequest("The request has no redirect_uri.")
    if redirect_uri not in client.redirect_uris:
        raise UntrustedAuthorizationRequest(
            "The redirect_uri is not registered for this application."
        )

    state = values.get("state")

    def fail(error: OAuthError) -> RedirectedAuthorizationError:
        return RedirectedAuthorizationError(
            error,
            redirect_uri=redirect_uri,
            state=state if state and len(state) <= MAX_PARAMETER_LENGTH else None,
        )

    if repeated:
        raise fail(InvalidRequest("a parameter is repeated: " + ", ".join(sorted(repeated))))
    if any(len(value) > MAX_PARAMETER_LENGTH for value in values.values()):
        raise fail(InvalidRequest("a parameter is too long"))
    if "request" in values:
        raise fail(RequestNotSupported("request objects are not supported"))
    if "request_uri" in values:
        raise fail(RequestUriNotSupported("request_uri is not supported"))
    if values.get("response_type") != "code":
        raise fail(UnsupportedResponseType("only response_type=code is supported"))
    if values.get("response_mode", "query") != "query":
        raise fail(InvalidRequest("only response_mode=query is supported"))
    if GrantType.AUTHORIZATION_CODE not in client.grant_types:
        raise fail(UnauthorizedClient("this client may not use the authorization code grant"))

    challenge = values.get("code_challenge")
    method = values.get("code_challenge_method")
    if not challenge:
        raise fail(InvalidRequest("PKCE is required: send code_challenge with method S256"))
    if method != "S256":
        raise fail(InvalidRequest("code_challenge_method must be S256 (plain is not allowed)"))
    if not _S256_CHALLENGE.fullmatch(challenge):
        raise fail(InvalidRequest("code_challenge is not an S256 challenge"))

    scopes = parse_scope(values.get("scope"))
    if scopes is None:
        raise fail(InvalidScope("the scope parameter is malformed"))
    if not scopes:
        raise fail(InvalidScope("the scope parameter is required"))
    if not set(scopes) <= set(client.scopes):
        raise fail(InvalidScope("a requested scope is not allowed for this client"))

    nonce = values.get("nonce")
    if nonce is not None and not 1 <= len(nonce) <= MAX_NONCE_LENGTH:
        raise fail(InvalidRequest("nonce is too long"))
    prompt = frozenset(values.get("prompt", "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise fail(InvalidRequest("prompt is not valid"))
    try:
        max_age = _max_age(values.get("max_age"))
    except ValueError:
        raise fail(InvalidRequest("max_age must be a non-negative integer")) from None

    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=scopes,
        code_challenge=challenge,
        state=state,
        nonce=nonce,
        prompt=prompt,
        max_age=max_age,
    )


def _max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or len(value) > 10:
        raise ValueError(value)
    return int(value)


async def required_interaction(
    db: AsyncSession,
    *,
    request: AuthorizationRequest,
    signed_in: SignedIn | None,
    now: datetime,
) -> Interaction | None:
    """What the user must still do, or ``None`` when a code can be issued now.

    ``prompt=none`` turns a needed interaction into ``login_required`` / ``consent_required``.
    """
    interaction = await _interaction(db, request=request, signed_in=signed_in, now=now)
    if interaction is not None and "none" in request.prompt:
        error: OAuthError = (
            LoginRequired("the user is not signed in")
            if interaction is Interaction.LOGIN
            else ConsentRequired("the user has not consented to this client")
        )
        raise RedirectedAuthorizationError(
            error, redirect_uri=request.redirect_uri, state=request.state
        )
    return interaction


async def _interaction(
    db: AsyncSession,
    *,
    request: AuthorizationRequest,
    signed_in: SignedIn | None,
    now: datetime,
) -> Interaction | None:
    if signed_in is None or request.prompt & {"login", "select_account"}:
        return Interaction.LOGIN
    auth_time = signed_in.browser_session.auth_time
    if request.max_age is not None and now - auth_time > timedelta(seconds=request.max_age):
        return Interaction.LOGIN
    if request.client.first_party:
        return None
    if "consent" in request.prompt:
        return Interaction.CONSENT
    consent = await repository.get_consent(
        db, user_id=signed_in.user.id, client_id=request.client.client_id
    )
    if consent is None or not set(request.scopes) <= set(consent.scopes):
        return Interaction.CONSENT
    return None


def after_login_query(parameters: Iterable[tuple[str, str]]) -> str:
    """The authorization request to resume after signing in.

    The user has just authenticated, which is what ``prompt=login`` and ``max_age`` ask for;
    keeping them would send the user back to the sign-in page forever.
    """
    kept: list[tuple[str, str]] = []
    for name, value in parameters:
        if name == "max_age":
            continue
        if name == "prompt":
            remaining = [p for p in value.split() if p not in ("login", "select_account")]
            if remaining:
                kept.append((name, " ".join(remaining)))
            continue
        kept.append((name, value))
    return urlencode(kept)


async def issue_code(
    db: AsyncSession,
    *,
    request: AuthorizationRequest,
    signed_in: SignedIn,
    now: datetime,
    ttl: timedelta,
) -> str:
    """Issue a single-use authorization code bound to the client, redirect URI and challenge."""
    code = new_opaque_value()
    await repository.add_code(
        db,
        AuthorizationCode(
            id=uuid.uuid4(),
            code_hash=digest(code),
            client_id=request.client.client_id,
            user_id=signed_in.user.id,
            browser_session_id=signed_in.browser_session.id,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            nonce=request.nonce,
            code_challenge=request.code_challenge,
            auth_time=signed_in.browser_session.auth_time,
            amr=signed_in.browser_session.amr,
            created_at=now,
            expires_at=now + ttl,
        ),
    )
    return code


def redirect_with(redirect_uri: str, parameters: dict[str, str | None]) -> str:
    """``redirect_uri`` with response parameters added to its query (RFC 6749 §3.1.2)."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(name, value) for name, value in parameters.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def code_redirect(*, request: AuthorizationRequest, code: str, issuer: str) -> str:
    return redirect_with(
        request.redirect_uri, {"code": code, "state": request.state, "iss": issuer}
    )


def error_redirect(error: RedirectedAuthorizationError, *, issuer: str) -> str:
    return redirect_with(
        error.redirect_uri,
        {
            "error": error.error.error,
            "error_description": error.error.description,
            "state": error.state,
            "iss": issuer,
        },
    )


def describe_scopes(scopes: Iterable[str]) -> list[tuple[str, str]]:
    """What each scope lets the application do, in words for the consent screen."""
    words = {
        OPENID: "Know who you are (your account id)",
        "profile": "See your display name",
        "email": "See your email address",
        OFFLINE_ACCESS: "Stay connected when you are not using it (refresh tokens)",
    }
    return [
        (scope, words.get(scope, f"Use the Roadbed API with scope {scope}")) for scope in scopes
    ]
