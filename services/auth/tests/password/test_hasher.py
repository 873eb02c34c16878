"""argon2id hashing and verification: round trips, rehash on new parameters, no truncation."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator

import argon2
import pytest
from argon2 import extract_parameters

from roadbed_auth.password import (
    OWASP_ARGON2_PARAMETERS,
    Argon2Parameters,
    HashScheme,
    PasswordHasher,
    VerifyResult,
    WeakPassword,
)
from roadbed_core.errors import FieldError


@pytest.fixture
async def owasp_hasher() -> AsyncIterator[PasswordHasher]:
    password_hasher = PasswordHasher()
    yield password_hasher
    password_hasher.close()


async def test_a_hash_verifies_its_password(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("correct horse battery staple")

    result = await hasher.verify(stored_hash=stored, password="correct horse battery staple")

    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert result == VerifyResult(ok=True, scheme=HashScheme.ARGON2, new_hash=None)
    assert result.needs_rehash is False


async def test_a_wrong_password_does_not_verify(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("correct horse battery staple")

    result = await hasher.verify(stored_hash=stored, password="correct horse battery stapler")

    assert result == VerifyResult(ok=False, scheme=HashScheme.ARGON2, new_hash=None)


async def test_each_hash_has_its_own_salt(hasher: PasswordHasher) -> None:
    first = await hasher.hash("same password twice")
    second = await hasher.hash("same password twice")

    assert first != second


async def test_owasp_parameters_are_the_default(owasp_hasher: PasswordHasher) -> None:
    stored = await owasp_hasher.hash("correct horse battery staple")

    assert owasp_hasher.parameters == OWASP_ARGON2_PARAMETERS
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert (
        await owasp_hasher.verify(stored_hash=stored, password="correct horse battery staple")
    ).ok


async def test_a_hash_with_older_parameters_is_upgraded_on_success(
    hasher: PasswordHasher, owasp_hasher: PasswordHasher
) -> None:
    # Given a hash written when the service ran with cheaper parameters
    stored = await hasher.hash("correct horse battery staple")

    # When the service, now on OWASP parameters, verifies it
    result = await owasp_hasher.verify(stored_hash=stored, password="correct horse battery staple")

    # Then it matches and hands back a replacement with the current parameters
    assert result.ok is True
    assert result.needs_rehash is True
    assert result.new_hash is not None
    assert result.new_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    upgraded = await owasp_hasher.verify(
        stored_hash=result.new_hash, password="correct horse battery staple"
    )
    assert upgraded == VerifyResult(ok=True, scheme=HashScheme.ARGON2, new_hash=None)


async def test_a_wrong_password_against_older_parameters_yields_no_new_hash(
    hasher: PasswordHasher,
) -> None:
    stronger = PasswordHasher(parameters=Argon2Parameters(memory_cost_kib=2048, time_cost=1))
    stored = await hasher.hash("correct horse battery staple")

    try:
        result = await stronger.verify(stored_hash=stored, password="wrong horse battery staple")
    finally:
        stronger.close()

    assert result == VerifyResult(ok=False, scheme=HashScheme.ARGON2, new_hash=None)


@pytest.mark.parametrize("argon2_type", [argon2.Type.I, argon2.Type.D])
async def test_argon2i_and_argon2d_hashes_verify_and_are_upgraded_to_argon2id(
    hasher: PasswordHasher, argon2_type: argon2.Type
) -> None:
    older = argon2.PasswordHasher(memory_cost=1024, time_cost=1, parallelism=1, type=argon2_type)
    stored = older.hash("correct horse battery staple")

    result = await hasher.verify(stored_hash=stored, password="correct horse battery staple")

    assert result.ok is True
    assert result.new_hash is not None
    assert extract_parameters(result.new_hash).type is argon2.Type.ID


async def test_unicode_passwords_round_trip_as_received(hasher: PasswordHasher) -> None:
    password = "pässwörd 🔑 пароль 密码 👨‍👩‍👧"
    stored = await hasher.hash(password)

    assert (await hasher.verify(stored_hash=stored, password=password)).ok is True


async def test_passwords_are_not_unicode_normalised(hasher: PasswordHasher) -> None:
    # ASVS V6.2.8: verified exactly as received. "é" composed and decomposed are different input.
    composed = unicodedata.normalize("NFC", "café au lait")
    decomposed = unicodedata.normalize("NFD", "café au lait")
    stored = await hasher.hash(composed)

    result = await hasher.verify(stored_hash=stored, password=decomposed)

    assert composed != decomposed
    assert result.ok is False


async def test_passwords_are_case_sensitive(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("Correct Horse Battery Staple")

    assert (
        await hasher.verify(stored_hash=stored, password="correct horse battery staple")
    ).ok is False


async def test_a_1024_character_password_round_trips(hasher: PasswordHasher) -> None:
    password = "ж" * 1024
    stored = await hasher.hash(password)

    assert (await hasher.verify(stored_hash=stored, password=password)).ok is True


async def test_long_passwords_are_not_truncated(hasher: PasswordHasher) -> None:
    # 100 characters, beyond bcrypt's 72 bytes: only the last character differs.
    first = "a" * 99 + "b"
    second = "a" * 99 + "c"
    stored = await hasher.hash(first)

    result = await hasher.verify(stored_hash=stored, password=second)

    assert len(first) == len(second) == 100
    assert result.ok is False


async def test_a_lone_surrogate_hashes_and_verifies_instead_of_raising(
    hasher: PasswordHasher,
) -> None:
    # JSON can carry "\ud800"; strict UTF-8 would raise and turn a login into a 500.
    password = "abc\ud800defgh"
    stored = await hasher.hash(password)

    assert (await hasher.verify(stored_hash=stored, password=password)).ok is True
    assert (await hasher.verify(stored_hash=stored, password="abc\ud801defgh")).ok is False


async def test_verify_refuses_a_password_beyond_the_hashing_ceiling(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("x" * 4096)

    at_ceiling = await hasher.verify(stored_hash=stored, password="x" * 4096)
    beyond = await hasher.verify(stored_hash=stored, password="x" * 4097)

    assert at_ceiling.ok is True
    assert beyond == VerifyResult(ok=False, scheme=HashScheme.ARGON2, new_hash=None)


async def test_hash_refuses_a_password_beyond_the_hashing_ceiling(hasher: PasswordHasher) -> None:
    with pytest.raises(WeakPassword) as raised:
        await hasher.hash("x" * 4097)

    assert raised.value.status == 422
    assert raised.value.errors == (
        FieldError(
            field="password", message="Password must be at most 4096 characters.", code="too_long"
        ),
    )


async def test_the_dummy_hash_carries_the_current_parameters(hasher: PasswordHasher) -> None:
    # Same parameters means the same work per verification: unknown accounts cost what known
    # accounts cost, so timing does not tell them apart.
    real = await hasher.hash("any password at all")

    assert extract_parameters(hasher.dummy_hash) == extract_parameters(real)


async def test_the_dummy_verification_never_succeeds(hasher: PasswordHasher) -> None:
    assert await hasher.verify_dummy("any password at all") is None
    assert (await hasher.verify(stored_hash=hasher.dummy_hash, password="")).ok is False


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"time_cost": 0}, "time_cost must be at least 1"),
        ({"parallelism": 0}, "parallelism must be at least 1"),
        ({"memory_cost_kib": 15, "parallelism": 2}, "memory_cost_kib must be at least 8 KiB"),
        ({"hash_length": 8}, "hash_length must be at least 16 bytes"),
        ({"salt_length": 8}, "salt_length must be at least 16 bytes"),
    ],
)
def test_unusable_parameters_are_refused(parameters: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Argon2Parameters(**parameters)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_concurrency": 0}, "max_concurrency must be at least 1"),
        ({"max_waiting": -1}, "max_waiting must not be negative"),
        ({"max_password_length": 63}, "max_password_length must be at least 64"),
    ],
)
def test_unusable_hasher_settings_are_refused(arguments: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PasswordHasher(**arguments)  # type: ignore[arg-type]
