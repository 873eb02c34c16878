"""TOTP secrets encrypted at rest: AES-256-GCM under a key derived from a settings secret.

Unlike a password, a TOTP secret has to be read back, so it cannot be hashed; encrypting it
means a database dump alone does not let anyone mint codes. The user id is the associated data:
a ciphertext copied onto another user's row fails to decrypt instead of silently working there.

Stored form (bytes, for ``users.totp_secret``)::

    version (1 byte) | key id (4 bytes) | nonce (12 bytes) | ciphertext + GCM tag (16 bytes)

The key id (a digest of the derived key, which says nothing about it) lets the settings secret
be rotated: decryption also accepts ``previous_keys`` and picks the one the row was written with.
Random 96-bit nonces are safe here: NIST's 2^32-messages-per-key bound is far above the number of
MFA enrolments a deployment will ever see under one key.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION: Final = 1
_KEY_ID_BYTES: Final = 4
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
_HEADER_BYTES: Final = 1 + _KEY_ID_BYTES + _NONCE_BYTES
_HKDF_INFO: Final = b"roadbed:auth:mfa:totp-secret:v1"
_AAD_PREFIX: Final = b"roadbed:auth:totp-secret:user:"


class SecretDecryptionError(ValueError):
    """A stored secret cannot be decrypted: wrong key, wrong user, or altered bytes.

    Not a 4xx: it means the database or the configuration is wrong, not the request.
    """


def _as_bytes(key: str | bytes) -> bytes:
    material = key.encode() if isinstance(key, str) else bytes(key)
    if len(material) < 16:
        raise ValueError("the encryption key setting must be at least 16 bytes")
    return material


def _derive(key: str | bytes) -> tuple[bytes, bytes]:
    """(AES key, key id) for a settings secret."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        _as_bytes(key)
    )
    return derived, hashlib.sha256(derived).digest()[:_KEY_ID_BYTES]


def _associated_data(user_id: uuid.UUID | str) -> bytes:
    return _AAD_PREFIX + str(user_id).encode()


def encrypt_secret(secret: str, *, key: str | bytes, user_id: uuid.UUID | str) -> bytes:
    """Encrypt a TOTP secret for ``user_id``'s row under the settings secret ``key``."""
    aes_key, key_id = _derive(key)
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(aes_key).encrypt(nonce, secret.encode(), _associated_data(user_id))
    return bytes([_VERSION]) + key_id + nonce + ciphertext


def decrypt_secret(
    stored: bytes,
    *,
    key: str | bytes,
    user_id: uuid.UUID | str,
    previous_keys: Sequence[str | bytes] = (),
) -> str:
    """Decrypt what :func:`encrypt_secret` stored; raises :class:`SecretDecryptionError`."""
    if len(stored) < _HEADER_BYTES + _TAG_BYTES or stored[0] != _VERSION:
        raise SecretDecryptionError("not an encrypted TOTP secret of a known version")
    key_id = stored[1 : 1 + _KEY_ID_BYTES]
    nonce = stored[1 + _KEY_ID_BYTES : _HEADER_BYTES]
    for candidate in (key, *previous_keys):
        aes_key, candidate_id = _derive(candidate)
        if candidate_id != key_id:
            continue
        try:
            plaintext = AESGCM(aes_key).decrypt(
                nonce, stored[_HEADER_BYTES:], _associated_data(user_id)
            )
        except InvalidTag as exc:
            raise SecretDecryptionError("the TOTP secret failed authentication") from exc
        return plaintext.decode()
    raise SecretDecryptionError("the TOTP secret was encrypted under a key that is not configured")
