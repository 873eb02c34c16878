"""OAuth errors: RFC 6749 §5.2 / §4.1.2.1 codes, OpenID Connect Core §3.1.2.6 codes.

The OAuth endpoints answer these as ``{"error": ..., "error_description": ...}`` (DESIGN.md §6)
instead of problem+json; the authorization endpoint sends them back to the client's redirect URI.
Descriptions are fixed sentences of RFC 6749's allowed characters, never echoed input.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

BASIC_CHALLENGE = 'Basic realm="roadbed"'


class OAuthError(Exception):
    """Base of every OAuth failure; subclasses set ``error`` and ``status``."""

    error: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400

    def __init__(self, description: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.headers = dict(headers or {})

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed (RFC 6749 §5.2): 401 with a ``Basic`` challenge."""

    error = "invalid_client"
    status = 401

    def __init__(self, description: str = "client authentication failed") -> None:
        super().__init__(description, headers={"WWW-Authenticate": BASIC_CHALLENGE})


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class UnsupportedTokenType(OAuthError):
    error = "unsupported_token_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"


class AuthorizationPending(OAuthError):
    """RFC 8628 §3.5: the user has not answered yet; poll again after the interval."""

    error = "authorization_pending"


class SlowDown(OAuthError):
    """RFC 8628 §3.5: polling too fast; the interval grows by five seconds."""

    error = "slow_down"


class ExpiredToken(OAuthError):
    """RFC 8628 §3.5: the device code expired; start again."""

    error = "expired_token"


class LoginRequired(OAuthError):
    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


class AuthorizationCodeReused(InvalidGrant):
    """A redeemed code came back: what it was exchanged for must now be revoked."""

    def __init__(self, *, code_id: uuid.UUID) -> None:
        super().__init__("authorization code was already used; its tokens are revoked")
        self.code_id = code_id


class UntrustedAuthorizationRequest(Exception):
    """The client or redirect URI cannot be trusted: the error is shown to the user, not sent.

    RFC 6749 §4.1.2.1: without a verified redirect URI, redirecting would turn the provider into
    an open redirector.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RedirectedAuthorizationError(Exception):
    """An authorization request failed after its redirect URI was verified: tell the client.

    Sent to ``redirect_uri`` with ``error``, ``error_description``, ``state`` and ``iss``
    (RFC 6749 §4.1.2.1, RFC 9207).
    """

    def __init__(self, error: OAuthError, *, redirect_uri: str, state: str | None) -> None:
        super().__init__(error.description)
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state
