"""OAuth tables: clients, authorization codes, browser sessions and remembered consents.

Secrets, codes and cookies are stored only as SHA-256 digests: each is 256 random bits, so a
fast hash is enough (nothing to brute-force) and a database leak hands out nothing usable.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from roadbed_auth.base import Base
from roadbed_core.db import UtcDateTime


class ClientType(StrEnum):
    """RFC 6749 §2.1: whether a client can keep a secret."""

    CONFIDENTIAL = "confidential"
    PUBLIC = "public"


class GrantType(StrEnum):
    AUTHORIZATION_CODE = "authorization_code"
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a grant type name, not a secret
    CLIENT_CREDENTIALS = "client_credentials"
    #: RFC 8628 device authorization grant.
    DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


class OAuthClient(Base):
    __tablename__ = "oauth_clients"
    __table_args__ = (
        CheckConstraint("client_type IN ('confidential', 'public')", name="client_type"),
        # A confidential client has a secret; a public one never does.
        CheckConstraint(
            "(client_type = 'confidential') = (secret_hash IS NOT NULL)", name="secret_by_type"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    #: The public identifier clients send (``roadbed-blog-admin``, or a generated one).
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    #: SHA-256 (hex) of the 256-bit secret; NULL for public clients.
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    client_type: Mapped[str] = mapped_column(String(16))
    #: Registered redirect URIs, compared by exact string match only (RFC 9700 §4.1.3).
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Where RP-initiated logout may send the browser back to (exact match).
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The scopes this client may ask for.
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ``aud`` of its client-credentials tokens (the service it calls).
    audience: Mapped[str | None] = mapped_column(String(100))
    #: Roadbed's own applications: the user is not asked to consent.
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def is_confidential(self) -> bool:
        return self.client_type == ClientType.CONFIDENTIAL

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class AuthorizationCode(Base):
    """One authorization code (RFC 6749 §4.1.2): single use, short-lived, bound to PKCE.

    What it was exchanged for (the session and the access token's ``jti``) is recorded, so a
    second redemption can revoke them (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
    """

    __tablename__ = "oauth_authorization_codes"
    __table_args__ = (Index("ix_oauth_authorization_codes_browser", "browser_session_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    browser_session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    scope: Mapped[str] = mapped_column(String(1000))
    nonce: Mapped[str | None] = mapped_column(String(255))
    #: PKCE S256 challenge (RFC 7636): base64url of SHA-256 of the verifier, 43 characters.
    code_challenge: Mapped[str] = mapped_column(String(128))
    auth_time: Mapped[datetime] = mapped_column(UtcDateTime)
    amr: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Set by the one redemption that wins (guarded UPDATE); a later one is reuse.
    redeemed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The login session (refresh-token family) the redemption opened.
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    access_token_jti: Mapped[str | None] = mapped_column(String(64))
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BrowserSession(Base):
    """The sign-in of a browser at the provider (the cookie), from which authorizations flow."""

    __tablename__ = "oauth_browser_sessions"
    __table_args__ = (Index("ix_oauth_browser_sessions_user", "user_id", "revoked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    #: SHA-256 (hex) of the cookie value.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    auth_time: Mapped[datetime] = mapped_column(UtcDateTime)
    amr: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    ip_address: Mapped[str] = mapped_column(String(64), default="")


class Consent(Base):
    """The scopes a user granted a client, remembered so the next request skips the screen."""

    __tablename__ = "oauth_consents"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE")
    )
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DeviceAuthorization(Base):
    """One device authorization request (RFC 8628): polled by the device, approved in a browser.

    The device code (256 bits) and the user code (8 letters, ~34 bits, rate-limited) are stored
    as SHA-256 digests. Approval, denial and redemption are guarded UPDATEs on ``status``.
    """

    __tablename__ = "oauth_device_authorizations"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'denied', 'redeemed')", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    device_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE")
    )
    scope: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: Who approved, and how they had signed in (set on approval).
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    auth_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    amr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Seconds the device must wait between polls; raised by 5 on each ``slow_down``.
    interval: Mapped[int] = mapped_column(Integer)
    last_polled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
