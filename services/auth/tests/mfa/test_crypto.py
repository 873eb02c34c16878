"""TOTP secrets at rest: AES-GCM round trip, user binding, tampering, key rotation."""

from __future__ import annotations

import uuid

import pytest

from roadbed_auth.mfa import SecretDecryptionError, decrypt_secret, encrypt_secret

KEY = "test-mfa-encryption-key-0123456789"
OLD_KEY = "test-old-mfa-encryption-key-012345"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
USER = uuid.UUID("6f1c9a52-3c1e-4f43-9d0a-6a8f5b1e2c77")


def test_round_trip() -> None:
    stored = encrypt_secret(SECRET, key=KEY, user_id=USER)

    assert decrypt_secret(stored, key=KEY, user_id=USER) == SECRET
    assert decrypt_secret(stored, key=KEY, user_id=str(USER)) == SECRET


def test_the_stored_bytes_hold_no_plaintext_and_differ_each_time() -> None:
    first = encrypt_secret(SECRET, key=KEY, user_id=USER)
    second = encrypt_secret(SECRET, key=KEY, user_id=USER)

    assert SECRET.encode() not in first
    assert first != second
    # version + key id + nonce + ciphertext (same length as the secret) + tag
    assert len(first) == 1 + 4 + 12 + len(SECRET) + 16


def test_another_users_row_does_not_decrypt() -> None:
    stored = encrypt_secret(SECRET, key=KEY, user_id=USER)

    with pytest.raises(SecretDecryptionError, match="failed authentication"):
        decrypt_secret(stored, key=KEY, user_id=uuid.uuid4())


@pytest.mark.parametrize(
    "position",
    [5, 16, 17, 30, -16, -1],
    ids=["nonce", "nonce-end", "ct", "ct-mid", "tag", "tag-end"],
)
def test_altered_bytes_do_not_decrypt(position: int) -> None:
    stored = bytearray(encrypt_secret(SECRET, key=KEY, user_id=USER))
    stored[position] ^= 0x01

    with pytest.raises(SecretDecryptionError, match="failed authentication"):
        decrypt_secret(bytes(stored), key=KEY, user_id=USER)


@pytest.mark.parametrize(
    "stored", [b"", b"\x01" + b"\x00" * 20, b"\x02" + b"\x00" * 60], ids=["empty", "short", "v2"]
)
def test_unknown_formats_do_not_decrypt(stored: bytes) -> None:
    with pytest.raises(SecretDecryptionError, match="known version"):
        decrypt_secret(stored, key=KEY, user_id=USER)


def test_a_different_key_does_not_decrypt() -> None:
    stored = encrypt_secret(SECRET, key=KEY, user_id=USER)

    with pytest.raises(SecretDecryptionError, match="not configured"):
        decrypt_secret(stored, key=OLD_KEY, user_id=USER)


def test_an_altered_key_id_does_not_decrypt() -> None:
    stored = bytearray(encrypt_secret(SECRET, key=KEY, user_id=USER))
    stored[1] ^= 0x01

    with pytest.raises(SecretDecryptionError, match="not configured"):
        decrypt_secret(bytes(stored), key=KEY, user_id=USER)


def test_rows_written_under_a_previous_key_still_decrypt() -> None:
    stored = encrypt_secret(SECRET, key=OLD_KEY, user_id=USER)

    assert decrypt_secret(stored, key=KEY, user_id=USER, previous_keys=[OLD_KEY]) == SECRET


def test_bytes_keys_work_like_str_keys() -> None:
    stored = encrypt_secret(SECRET, key=KEY.encode(), user_id=USER)

    assert decrypt_secret(stored, key=KEY, user_id=USER) == SECRET


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        encrypt_secret(SECRET, key="too-short", user_id=USER)
