"""Second factor: TOTP (RFC 6238) with replay protection, recovery codes, secrets at rest."""

from __future__ import annotations

from roadbed_auth.mfa.crypto import SecretDecryptionError, decrypt_secret, encrypt_secret
from roadbed_auth.mfa.recovery import RecoveryCodes
from roadbed_auth.mfa.totp import (
    TotpReplayGuard,
    generate_totp_secret,
    provisioning_uri,
    time_step,
    verify_totp,
)

__all__ = [
    "RecoveryCodes",
    "SecretDecryptionError",
    "TotpReplayGuard",
    "decrypt_secret",
    "encrypt_secret",
    "generate_totp_secret",
    "provisioning_uri",
    "time_step",
    "verify_totp",
]
