"""Private keys at rest: AES-256-GCM under a key derived from the settings secret, bound to kid."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Table, select, update

from roadbed_auth.keys import (
    ES256,
    RS256,
    KeyEncryptor,
    SigningKeyDecryptionFailed,
    SigningKeyRing,
    SigningKeyService,
    SigningKeyState,
)
from roadbed_auth.keys.encryption import EncryptedPrivateKey
from roadbed_auth.keys.material import serialize_private_key
from roadbed_core.db import unit_of_work

from .support import SECRET, FakeClock, KeyPool, Sessions

DER = b"0\x82\x04\xbd\x02\x01\x00"  # any bytes: the encryptor does not parse what it seals


# -- the encryptor on its own -----------------------------------------------------------------


def test_sealed_key_opens_with_the_same_secret_and_kid() -> None:
    encryptor = KeyEncryptor(SECRET)

    sealed = encryptor.encrypt(DER, kid="kid-a")

    assert encryptor.decrypt(sealed, kid="kid-a") == DER
    assert (len(sealed.nonce), sealed.kek_version) == (12, 1)
    assert len(sealed.ciphertext) == len(DER) + 16  # GCM appends a 128-bit tag


def test_each_seal_uses_a_fresh_nonce() -> None:
    encryptor = KeyEncryptor(SECRET)

    first, second = encryptor.encrypt(DER, kid="kid-a"), encryptor.encrypt(DER, kid="kid-a")

    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


def test_wrong_secret_fails_with_a_clear_error() -> None:
    sealed = KeyEncryptor(SECRET).encrypt(DER, kid="kid-a")

    with pytest.raises(SigningKeyDecryptionFailed) as caught:
        KeyEncryptor("another-secret-of-enough-length").decrypt(sealed, kid="kid-a")

    assert caught.value.detail == (
        "signing key kid-a could not be decrypted: the key-encryption secret is wrong, "
        "or the stored key was altered or moved to another row"
    )
    assert (caught.value.status, caught.value.code) == (503, "signing_key_decryption_failed")


def test_a_sealed_key_moved_to_another_kid_does_not_open() -> None:
    encryptor = KeyEncryptor(SECRET)
    sealed = encryptor.encrypt(DER, kid="kid-a")

    with pytest.raises(SigningKeyDecryptionFailed, match="signing key kid-b could not be"):
        encryptor.decrypt(sealed, kid="kid-b")


def test_a_tampered_ciphertext_does_not_open() -> None:
    encryptor = KeyEncryptor(SECRET)
    sealed = encryptor.encrypt(DER, kid="kid-a")
    flipped = bytes([sealed.ciphertext[0] ^ 0x01]) + sealed.ciphertext[1:]

    with pytest.raises(SigningKeyDecryptionFailed, match="signing key kid-a could not be"):
        encryptor.decrypt(
            EncryptedPrivateKey(ciphertext=flipped, nonce=sealed.nonce, kek_version=1),
            kid="kid-a",
        )


def test_key_encryption_versions_derive_different_keys() -> None:
    sealed = KeyEncryptor(SECRET, version=2).encrypt(DER, kid="kid-a")
    relabelled = EncryptedPrivateKey(
        ciphertext=sealed.ciphertext, nonce=sealed.nonce, kek_version=1
    )

    with pytest.raises(SigningKeyDecryptionFailed) as caught:
        KeyEncryptor(SECRET, version=1).decrypt(sealed, kid="kid-a")
    assert caught.value.detail == (
        "signing key kid-a is sealed with key-encryption version 2, "
        "but the configured secret is version 1"
    )
    # Same secret, version label forged: the HKDF info differs, so the KEK does too.
    with pytest.raises(SigningKeyDecryptionFailed, match="could not be decrypted"):
        KeyEncryptor(SECRET, version=1).decrypt(relabelled, kid="kid-a")


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        KeyEncryptor("too-short")


# -- stored rows ------------------------------------------------------------------------------


def _row_bytes(row: dict[str, Any]) -> bytes:
    """Everything a database dump would show of one row."""
    parts: list[bytes] = []
    for value in row.values():
        if isinstance(value, bytes | memoryview):
            parts.append(bytes(value))
        elif isinstance(value, dict):
            parts.append(json.dumps(value).encode())
        else:
            parts.append(str(value).encode())
    return b"\x00".join(parts)


async def _rows(sessions: Sessions, table: Table) -> dict[str, dict[str, Any]]:
    async with unit_of_work(sessions) as db:
        result = await db.execute(select(table))
        return {row["kid"]: dict(row) for row in result.mappings()}


async def test_stored_rows_hold_neither_pem_nor_der_and_open_to_the_generated_keys(
    ring: SigningKeyRing,
    service: SigningKeyService,
    sessions: Sessions,
    table: Table,
    key_pool: KeyPool,
) -> None:
    await ring.ensure_keys()

    rows = await _rows(sessions, table)

    generated = {RS256: key_pool.keys[RS256][0], ES256: key_pool.keys[ES256][0]}
    assert sorted(row["algorithm"] for row in rows.values()) == [ES256, RS256]
    for row in rows.values():
        private_key = generated[row["algorithm"]]
        der = serialize_private_key(private_key)
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        dumped = _row_bytes(row)
        assert der not in dumped
        assert b"PRIVATE KEY" not in dumped
        assert base64.b64encode(der)[:64] not in dumped  # the first PEM body line
        assert pem.splitlines()[1] not in dumped
        async with unit_of_work(sessions) as db:
            (record,) = [r for r in await service.list_published(db) if r.kid == row["kid"]]
        assert serialize_private_key(service.open_private_key(record)) == der


async def test_wrong_secret_fails_signing_but_not_the_jwks(
    ring: SigningKeyRing, sessions: Sessions, table: Table, clock: FakeClock
) -> None:
    await ring.ensure_keys()
    expected_jwks = (await ring.jwks()).body
    wrong = SigningKeyService(table=table, encryptor=KeyEncryptor("not-the-secret-we-used-1"))
    other_ring = SigningKeyRing(sessionmaker=sessions, service=wrong, clock=clock)

    with pytest.raises(SigningKeyDecryptionFailed) as caught:
        await other_ring.signing_key(RS256)

    kid = (await ring.signing_key(RS256)).kid
    assert caught.value.detail == (
        f"signing key {kid} could not be decrypted: the key-encryption secret is wrong, "
        "or the stored key was altered or moved to another row"
    )
    assert (await other_ring.jwks()).body == expected_jwks


async def test_tampered_ciphertext_in_the_database_fails(
    ring: SigningKeyRing, service: SigningKeyService, sessions: Sessions, table: Table
) -> None:
    await ring.ensure_keys()
    kid = (await ring.signing_key(RS256)).kid
    stored = (await _rows(sessions, table))[kid]["private_key_ciphertext"]
    async with unit_of_work(sessions) as db:
        await db.execute(
            update(table)
            .where(table.c.kid == kid)
            .values(private_key_ciphertext=stored[:-1] + bytes([stored[-1] ^ 0x80]))
        )

    fresh_ring = SigningKeyRing(sessionmaker=sessions, service=service, clock=ring.clock)
    with pytest.raises(SigningKeyDecryptionFailed, match=f"signing key {kid} could not be"):
        await fresh_ring.signing_key(RS256)


async def test_sealed_keys_swapped_between_rows_fail(
    ring: SigningKeyRing, service: SigningKeyService, sessions: Sessions, table: Table
) -> None:
    # given an active and a pending RS256 key
    await ring.ensure_keys()
    await ring.rotate(algorithms=[RS256])
    rows = await _rows(sessions, table)
    by_state = {
        (row["algorithm"], row["state"]): row for row in rows.values() if row["algorithm"] == RS256
    }
    active = by_state[(RS256, SigningKeyState.ACTIVE.value)]
    pending = by_state[(RS256, SigningKeyState.PENDING.value)]

    # when their sealed private keys are swapped
    async with unit_of_work(sessions) as db:
        for target, source in ((active, pending), (pending, active)):
            await db.execute(
                update(table)
                .where(table.c.kid == target["kid"])
                .values(
                    private_key_ciphertext=source["private_key_ciphertext"],
                    private_key_nonce=source["private_key_nonce"],
                )
            )

    # then neither opens
    async with unit_of_work(sessions) as db:
        records = {record.kid: record for record in await service.list_published(db)}
    for kid in (active["kid"], pending["kid"]):
        with pytest.raises(SigningKeyDecryptionFailed, match=f"signing key {kid} could not be"):
            service.open_private_key(records[kid])
