"""Recognise stored password hashes and verify the ones imported from other systems.

Accounts migrated into Roadbed arrive with the hash their old system stored; we cannot turn those
into argon2id without the password, so we verify them as they are and let the caller replace
them with an argon2id hash on the first successful login. Every format here is therefore
*verify-only*: nothing in Roadbed ever writes one.

Supported, with the exact layouts their producers write:

* ``$argon2id$...`` / ``$argon2i$...`` / ``$argon2d$...`` — the PHC string argon2-cffi writes
  (our native format; verified by :mod:`roadbed_auth.password.hasher`, not here).
* ``$2a$`` / ``$2b$`` / ``$2y$`` — bcrypt as PHP, Node, Ruby and others write it.
* ``argon2$argon2id$v=19$m=...`` — Django's ``Argon2PasswordHasher`` (a PHC string behind an
  ``argon2`` prefix).
* ``pbkdf2_sha256$<iterations>$<salt>$<base64>`` and ``pbkdf2_sha1$...`` — Django's PBKDF2
  hashers.
* ``bcrypt_sha256$$2b$...`` — Django's ``BCryptSHA256PasswordHasher`` (bcrypt over the hex
  SHA-256 of the password) and ``bcrypt$$2b$...`` — Django's plain ``BCryptPasswordHasher``.

Everything runs inside the hasher's worker pool: these functions block for as long as the stored
work factor says, so they must never be called on the event loop.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Final

import bcrypt

# bcrypt reads at most 72 bytes of the password. The systems that wrote these hashes silently
# dropped the rest, so to verify what they stored we must drop it too (bcrypt >= 5 raises
# instead of truncating). The argon2id hash written on upgrade covers the whole password.
BCRYPT_MAX_PASSWORD_BYTES: Final = 72
# Work-factor ceilings for stored hashes: verification cost is whatever the stored string claims,
# so a corrupted or hostile row must not be able to pin a worker thread for minutes. Real
# systems stay far below these (bcrypt 10-13; Django 5.2 writes 1,000,000 PBKDF2 iterations).
MAX_BCRYPT_COST: Final = 16
MAX_PBKDF2_ITERATIONS: Final = 10_000_000

_BCRYPT_PATTERN: Final = re.compile(r"\$2[aby]\$(?P<cost>[0-9]{2})\$[./A-Za-z0-9]{53}")
_PBKDF2_ALGORITHMS: Final = {"pbkdf2_sha256": "sha256", "pbkdf2_sha1": "sha1"}


class HashScheme(StrEnum):
    """The format a stored hash is in; reported with each verification (audit, migration stats)."""

    ARGON2 = "argon2"
    BCRYPT = "bcrypt"
    DJANGO_ARGON2 = "django_argon2"
    DJANGO_BCRYPT = "django_bcrypt"
    DJANGO_BCRYPT_SHA256 = "django_bcrypt_sha256"
    DJANGO_PBKDF2_SHA256 = "django_pbkdf2_sha256"
    DJANGO_PBKDF2_SHA1 = "django_pbkdf2_sha1"


# Django writes ``<algorithm>$<rest>``; the algorithm names the hasher class that wrote it.
_DJANGO_ALGORITHMS: Final[dict[str, HashScheme]] = {
    "argon2": HashScheme.DJANGO_ARGON2,
    "bcrypt": HashScheme.DJANGO_BCRYPT,
    "bcrypt_sha256": HashScheme.DJANGO_BCRYPT_SHA256,
    "pbkdf2_sha256": HashScheme.DJANGO_PBKDF2_SHA256,
    "pbkdf2_sha1": HashScheme.DJANGO_PBKDF2_SHA1,
}


def identify_scheme(stored_hash: str) -> HashScheme | None:
    """The scheme ``stored_hash`` is written in, from its prefix; ``None`` when unrecognised.

    Only the prefix is looked at: a recognised but malformed hash is reported as its scheme and
    then fails verification.
    """
    if stored_hash.startswith(("$argon2id$", "$argon2i$", "$argon2d$")):
        return HashScheme.ARGON2
    if stored_hash.startswith(("$2a$", "$2b$", "$2y$")):
        return HashScheme.BCRYPT
    algorithm, separator, _ = stored_hash.partition("$")
    if not separator:
        return None
    return _DJANGO_ALGORITHMS.get(algorithm)


def django_argon2_to_phc(stored_hash: str) -> str:
    """The argon2 PHC string inside a Django ``argon2$...`` hash (Django prepends ``argon2``)."""
    return stored_hash.removeprefix("argon2")


def verify_bcrypt(stored_hash: str, password: bytes) -> bool:
    """Check ``password`` against a ``$2a$``/``$2b$``/``$2y$`` hash, as the writer would have.

    Passwords longer than 72 bytes are truncated to 72 bytes first, because that is exactly what
    the producing system did when it stored the hash (see :data:`BCRYPT_MAX_PASSWORD_BYTES`).
    """
    match = _BCRYPT_PATTERN.fullmatch(stored_hash)
    if match is None or not 4 <= int(match["cost"]) <= MAX_BCRYPT_COST:
        return False
    expected = stored_hash.encode("ascii")
    try:
        computed = bcrypt.hashpw(password[:BCRYPT_MAX_PASSWORD_BYTES], expected)
    except ValueError:  # bcrypt rejects a salt it cannot parse
        return False
    return hmac.compare_digest(computed, expected)


def verify_django_bcrypt(stored_hash: str, password: bytes) -> bool:
    """Check a Django ``bcrypt$<bcrypt hash>`` (no pre-hash: Django passed the password as is)."""
    return verify_bcrypt(stored_hash.removeprefix("bcrypt$"), password)


def verify_django_bcrypt_sha256(stored_hash: str, password: bytes) -> bool:
    """Check a Django ``bcrypt_sha256$<bcrypt hash>``: bcrypt over the hex SHA-256 of the password.

    Django pre-hashed so that long passwords were not truncated; the 64 hex digits fit bcrypt.
    """
    prehashed = binascii.hexlify(hashlib.sha256(password).digest())
    return verify_bcrypt(stored_hash.removeprefix("bcrypt_sha256$"), prehashed)


def verify_django_pbkdf2(stored_hash: str, password: bytes) -> bool:
    """Check a Django ``pbkdf2_<digest>$<iterations>$<salt>$<base64 key>`` hash.

    Django derives a key as long as the digest (``dklen=None``) from the UTF-8 salt string and
    stores it in standard base64; the comparison is constant-time.
    """
    parts = stored_hash.split("$", 3)
    if len(parts) != 4:
        return False
    algorithm, iterations_text, salt, encoded_key = parts
    digest = _PBKDF2_ALGORITHMS.get(algorithm)
    if digest is None or not iterations_text.isascii() or not iterations_text.isdigit():
        return False
    iterations = int(iterations_text)
    if not 1 <= iterations <= MAX_PBKDF2_ITERATIONS or not salt:
        return False
    try:
        expected = base64.b64decode(encoded_key, validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII characters in the key
        return False
    if len(expected) != hashlib.new(digest).digest_size:
        return False
    computed = hashlib.pbkdf2_hmac(
        digest, password, salt.encode("utf-8", "surrogatepass"), iterations
    )
    return hmac.compare_digest(computed, expected)


#: The verify-only formats that are not argon2, by scheme.
LEGACY_VERIFIERS: Final[Mapping[HashScheme, Callable[[str, bytes], bool]]] = {
    HashScheme.BCRYPT: verify_bcrypt,
    HashScheme.DJANGO_BCRYPT: verify_django_bcrypt,
    HashScheme.DJANGO_BCRYPT_SHA256: verify_django_bcrypt_sha256,
    HashScheme.DJANGO_PBKDF2_SHA256: verify_django_pbkdf2,
    HashScheme.DJANGO_PBKDF2_SHA1: verify_django_pbkdf2,
}
