"""Encryption at rest of signing private keys (AES-256-GCM under a key derived from a secret).

* The key-encryption key (KEK) is HKDF-SHA256 of the settings secret with an ``info`` that names
  this purpose and a version. The same secret also protects other things (TOTP secrets), and a
  distinct ``info`` gives each purpose an independent key.
* Each private key gets a random 96-bit nonce (NIST SP 800-38D §8.2.2: random nonces are safe
  far beyond the handful of keys we ever encrypt under one KEK).
* The associated data is the ``kid``: a ciphertext copied into another row fails to decrypt, so a
  row cannot be made to sign under someone else's key id.
* ``kek_version`` is stored with each row so the secret can be rotated later: a new secret gets a
  new version, and rows say which one sealed them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from roadbed_auth.keys.errors import SigningKeyDecryptionFailed

NONCE_BYTES: Final = 12
KEK_BYTES: Final = 32
#: A secret shorter than this is a typo or a placeholder, not key material.
MIN_SECRET_LENGTH: Final = 16


def _kek_info(version: int) -> bytes:
    return f"roadbed/auth/signing-key-encryption/v{version}".encode("ascii")


@dataclass(frozen=True, slots=True)
class EncryptedPrivateKey:
    """A sealed private key as stored: ciphertext (with the GCM tag), nonce, KEK version."""

    ciphertext: bytes = field(repr=False)
    nonce: bytes
    kek_version: int


class KeyEncryptor:
    """Seal and open private keys with the KEK derived from ``secret`` (one KEK version)."""

    __slots__ = ("_aead", "version")

    def __init__(self, secret: SecretStr | str, *, version: int = 1) -> None:
        raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if len(raw) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"the key-encryption secret must be at least {MIN_SECRET_LENGTH} characters"
            )
        if version < 1:
            raise ValueError("the key-encryption version starts at 1")
        kek = HKDF(
            algorithm=hashes.SHA256(), length=KEK_BYTES, salt=None, info=_kek_info(version)
        ).derive(raw.encode("utf-8"))
        self._aead = AESGCM(kek)
        self.version = version

    def encrypt(self, plaintext: bytes, *, kid: str) -> EncryptedPrivateKey:
        """Seal ``plaintext`` (a PKCS#8 DER key) bound to ``kid``."""
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._aead.encrypt(nonce, plaintext, kid.encode("utf-8"))
        return EncryptedPrivateKey(ciphertext=ciphertext, nonce=nonce, kek_version=self.version)

    def decrypt(self, sealed: EncryptedPrivateKey, *, kid: str) -> bytes:
        """Open a sealed key stored under ``kid``; raises :class:`SigningKeyDecryptionFailed`."""
        if sealed.kek_version != self.version:
            raise SigningKeyDecryptionFailed(
                f"signing key {kid} is sealed with key-encryption version {sealed.kek_version}, "
                f"but the configured secret is version {self.version}"
            )
        if len(sealed.nonce) != NONCE_BYTES:
            raise SigningKeyDecryptionFailed(f"signing key {kid} has a malformed nonce")
        try:
            return self._aead.decrypt(sealed.nonce, sealed.ciphertext, kid.encode("utf-8"))
        except InvalidTag as exc:
            raise SigningKeyDecryptionFailed(
                f"signing key {kid} could not be decrypted: the key-encryption secret is wrong, "
                "or the stored key was altered or moved to another row"
            ) from exc
