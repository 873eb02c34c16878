"""Building the key service from :class:`AuthSettings`, so the app and the CLI agree on it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Table

from roadbed_auth.config import AuthSettings
from roadbed_auth.keys.encryption import KeyEncryptor
from roadbed_auth.keys.service import KeyPolicy, SigningKeyService


def key_policy_from_settings(settings: AuthSettings) -> KeyPolicy:
    """The lifecycle timings; retention covers the longest token we sign (access or ID)."""
    return KeyPolicy(
        verifier_cache_ttl=timedelta(seconds=settings.jwks_cache_ttl_seconds),
        refresh_interval=timedelta(seconds=settings.signing_key_refresh_seconds),
        max_token_lifetime=timedelta(
            seconds=max(settings.access_token_ttl_seconds, settings.id_token_ttl_seconds)
        ),
    )


def key_service_from_settings(settings: AuthSettings, *, table: Table) -> SigningKeyService:
    return SigningKeyService(
        table=table,
        encryptor=KeyEncryptor(
            settings.key_encryption_secret, version=settings.key_encryption_secret_version
        ),
        policy=key_policy_from_settings(settings),
    )
