"""Signing keys, the JWKS, and token minting (RFC 9068 access tokens, OpenID Connect ID tokens).

* :func:`define_signing_keys_table` — the table, added to the service ``MetaData``;
* :class:`SigningKeyService` — lifecycle decisions (bootstrap, rotate, activate, drop);
* :class:`SigningKeyRing` — the cached active keys and rendered JWKS the hot paths read;
* :class:`AccessTokenIssuer` / :class:`IdTokenIssuer` — minting;
* :func:`rotate_keys` — the ``roadbed auth rotate-keys`` command.
"""

from roadbed_auth.keys.cli import arotate_keys, rotate_keys
from roadbed_auth.keys.encryption import EncryptedPrivateKey, KeyEncryptor
from roadbed_auth.keys.errors import SigningKeyDecryptionFailed, SigningKeyUnavailable
from roadbed_auth.keys.factory import key_policy_from_settings, key_service_from_settings
from roadbed_auth.keys.issuer import (
    AccessTokenIssuer,
    IdTokenIssuer,
    IssuedToken,
    token_hash,
)
from roadbed_auth.keys.jwks import JwksDocument, render_jwks
from roadbed_auth.keys.keyring import LoadedSigningKey, SigningKeyRing, utc_now
from roadbed_auth.keys.material import (
    ES256,
    RS256,
    SUPPORTED_ALGORITHMS,
    generate_private_key,
    jwk_thumbprint,
)
from roadbed_auth.keys.repository import SigningKeyRecord
from roadbed_auth.keys.service import KeyChange, KeyChangeKind, KeyPolicy, SigningKeyService
from roadbed_auth.keys.tables import SigningKeyState, define_signing_keys_table

__all__ = [
    "ES256",
    "RS256",
    "SUPPORTED_ALGORITHMS",
    "AccessTokenIssuer",
    "EncryptedPrivateKey",
    "IdTokenIssuer",
    "IssuedToken",
    "JwksDocument",
    "KeyChange",
    "KeyChangeKind",
    "KeyEncryptor",
    "KeyPolicy",
    "LoadedSigningKey",
    "SigningKeyDecryptionFailed",
    "SigningKeyRecord",
    "SigningKeyRing",
    "SigningKeyService",
    "SigningKeyState",
    "SigningKeyUnavailable",
    "arotate_keys",
    "define_signing_keys_table",
    "generate_private_key",
    "jwk_thumbprint",
    "key_policy_from_settings",
    "key_service_from_settings",
    "render_jwks",
    "rotate_keys",
    "token_hash",
    "utc_now",
]
