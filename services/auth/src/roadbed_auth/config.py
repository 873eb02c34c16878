"""The auth service's typed settings (``ROADBED_AUTH_*``), read once at start."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from roadbed_core.settings import ServiceSettings, dev_secret


class AuthSettings(ServiceSettings):
    service_name = "auth"
    model_config = SettingsConfigDict(env_prefix="ROADBED_AUTH_", extra="ignore", frozen=True)

    #: Derives the key that encrypts signing keys and TOTP secrets at rest.
    key_encryption_secret: SecretStr = dev_secret("auth-key-encryption-secret")
    #: Recorded on each signing-key row, for a later rotation of ``key_encryption_secret``.
    key_encryption_secret_version: int = Field(default=1, ge=1)
    #: Encrypts TOTP secrets at rest (kept apart from the signing-key secret: rotate either alone).
    mfa_encryption_key: SecretStr = dev_secret("auth-mfa-encryption-key")
    #: Keys the hashes of emails and addresses in throttle keys (never stored in the clear).
    throttle_secret: SecretStr = dev_secret("auth-throttle-secret")
    #: Derives refresh-token children (so a concurrent tab's retry gets the same child).
    refresh_token_secret: SecretStr = dev_secret("auth-refresh-token-secret")

    #: Audience of first-party access tokens; every Roadbed service accepts it.
    token_audience: str = "roadbed"  # noqa: S105 - an audience name, not a secret
    #: The OAuth client id of Roadbed's own first-party login.
    first_party_client_id: str = "roadbed"
    access_token_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    #: Absolute lifetime of a login session (refresh-token family); rotation never extends it.
    session_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=3600)
    #: A spent refresh token presented again within this window gets the same child (two tabs).
    refresh_reuse_grace_seconds: int = Field(default=10, ge=0, le=120)
    email_verification_ttl_seconds: int = Field(default=48 * 3600, ge=300)
    password_reset_ttl_seconds: int = Field(default=3600, ge=300, le=24 * 3600)

    id_token_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    #: How long verifiers may cache our JWKS: a new key is published this long before it signs.
    jwks_cache_ttl_seconds: int = Field(default=300, ge=0, le=3600)
    #: How often each replica reloads signing keys from the database.
    signing_key_refresh_seconds: int = Field(default=30, ge=1, le=600)

    #: Login throttling (ASVS V6.3.1): per account and per client address, then backoff.
    login_account_max_failures: int = Field(default=5, ge=1)
    login_ip_max_failures: int = Field(default=50, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=60)
    login_lockout_seconds: int = Field(default=60, ge=1)
    login_max_lockout_seconds: int = Field(default=900, ge=1)
    #: Registrations and reset requests per client address per hour.
    registration_per_hour: int = Field(default=20, ge=1)
    password_reset_per_hour: int = Field(default=20, ge=1)

    password_min_length: int = Field(default=8, ge=8)
    password_max_length: int = Field(default=1024, ge=64, le=4096)
    #: argon2id cost (OWASP: m=19 MiB, t=2, p=1 or stronger).
    argon2_memory_kib: int = Field(default=19 * 1024, ge=8 * 1024)
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_parallelism: int = Field(default=1, ge=1)
    #: Threads hashing passwords (argon2 releases the GIL); more queue, bounded.
    password_hash_workers: int = Field(default=2, ge=1, le=32)


@lru_cache(maxsize=1)
def get_settings() -> AuthSettings:
    return AuthSettings()
