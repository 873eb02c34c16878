"""Imported hashes (bcrypt, Django PBKDF2 / argon2 / bcrypt_sha256) verify, then upgrade to argon2id.

Each builder below writes the format exactly as its producer does, from the primitives (bcrypt,
hashlib, argon2-cffi), so the tests pin the layouts rather than our own reading of them. Where
Django is installed, its own hashers cross-check the same layouts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable

import argon2
import bcrypt
import pytest
from argon2 import extract_parameters

from roadbed_auth.password import HashScheme, PasswordHasher, VerifyResult, identify_scheme

PASSWORD = "Tr0ub4dor&3 — imported"
LEGACY_SALT = "q6DxcL9PvAjeyTG2uO4bZk"


def bcrypt_hash(password: str, *, prefix: str = "2b", cost: int = 4) -> str:
    """bcrypt as PHP/Node/Ruby store it; "$2y$" is PHP's name for the same algorithm as "$2b$"."""
    stored = bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(cost)).decode("ascii")
    return f"${prefix}${stored[4:]}"


def django_pbkdf2_hash(
    password: str, *, digest: str = "sha256", iterations: int = 1000, salt: str = LEGACY_SALT
) -> str:
    """Django's PBKDF2PasswordHasher / PBKDF2SHA1PasswordHasher layout."""
    key = hashlib.pbkdf2_hmac(digest, password.encode(), salt.encode(), iterations)
    return f"pbkdf2_{digest}${iterations}${salt}${base64.b64encode(key).decode('ascii')}"


def django_argon2_hash(password: str, *, argon2_type: argon2.Type = argon2.Type.ID) -> str:
    """Django's Argon2PasswordHasher: the PHC string behind an "argon2" prefix."""
    phc = argon2.PasswordHasher(memory_cost=1024, time_cost=1, parallelism=2, type=argon2_type)
    return "argon2" + phc.hash(password)


def django_bcrypt_sha256_hash(password: str) -> str:
    """Django's BCryptSHA256PasswordHasher: bcrypt over the hex SHA-256 of the password."""
    prehashed = binascii.hexlify(hashlib.sha256(password.encode()).digest())
    return "bcrypt_sha256$" + bcrypt.hashpw(prehashed, bcrypt.gensalt(4)).decode("ascii")


def django_bcrypt_hash(password: str) -> str:
    """Django's BCryptPasswordHasher: plain bcrypt behind a "bcrypt$" prefix."""
    return "bcrypt$" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode("ascii")


LEGACY_BUILDERS: list[tuple[str, Callable[[str], str], HashScheme]] = [
    ("bcrypt $2a$", lambda password: bcrypt_hash(password, prefix="2a"), HashScheme.BCRYPT),
    ("bcrypt $2b$", lambda password: bcrypt_hash(password, prefix="2b"), HashScheme.BCRYPT),
    ("bcrypt $2y$", lambda password: bcrypt_hash(password, prefix="2y"), HashScheme.BCRYPT),
    ("django pbkdf2_sha256", django_pbkdf2_hash, HashScheme.DJANGO_PBKDF2_SHA256),
    (
        "django pbkdf2_sha1",
        lambda password: django_pbkdf2_hash(password, digest="sha1"),
        HashScheme.DJANGO_PBKDF2_SHA1,
    ),
    ("django argon2id", django_argon2_hash, HashScheme.DJANGO_ARGON2),
    (
        "django argon2i",
        lambda password: django_argon2_hash(password, argon2_type=argon2.Type.I),
        HashScheme.DJANGO_ARGON2,
    ),
    ("django bcrypt_sha256", django_bcrypt_sha256_hash, HashScheme.DJANGO_BCRYPT_SHA256),
    ("django bcrypt", django_bcrypt_hash, HashScheme.DJANGO_BCRYPT),
]
LEGACY_IDS = [name for name, _, _ in LEGACY_BUILDERS]


@pytest.mark.parametrize(("name", "build", "scheme"), LEGACY_BUILDERS, ids=LEGACY_IDS)
async def test_a_legacy_hash_verifies_and_asks_for_an_argon2id_upgrade(
    hasher: PasswordHasher, name: str, build: Callable[[str], str], scheme: HashScheme
) -> None:
    # Given an account imported with its old system's hash
    stored = build(PASSWORD)

    # When its owner logs in with the right password
    result = await hasher.verify(stored_hash=stored, password=PASSWORD)

    # Then the login succeeds and a current argon2id hash is handed back to store
    assert result.ok is True
    assert result.scheme is scheme
    assert result.needs_rehash is True
    assert result.new_hash is not None
    assert extract_parameters(result.new_hash) == extract_parameters(await hasher.hash("x"))
    assert await hasher.verify(stored_hash=result.new_hash, password=PASSWORD) == VerifyResult(
        ok=True, scheme=HashScheme.ARGON2, new_hash=None
    )


@pytest.mark.parametrize(("name", "build", "scheme"), LEGACY_BUILDERS, ids=LEGACY_IDS)
async def test_a_legacy_hash_refuses_a_wrong_password(
    hasher: PasswordHasher, name: str, build: Callable[[str], str], scheme: HashScheme
) -> None:
    stored = build(PASSWORD)

    result = await hasher.verify(stored_hash=stored, password=PASSWORD + "!")

    assert result == VerifyResult(ok=False, scheme=scheme, new_hash=None)


async def test_a_legacy_bcrypt_hash_of_a_long_password_verifies_as_its_writer_truncated_it(
    hasher: PasswordHasher,
) -> None:
    # Given a legacy system that (like every bcrypt user) kept only the first 72 bytes
    password = "long passphrase " * 6  # 96 bytes
    stored = bcrypt_hash(password)

    # When the owner logs in with the whole password
    result = await hasher.verify(stored_hash=stored, password=password)

    # Then it verifies, and the argon2id replacement covers all 96 bytes
    assert result.ok is True
    assert result.new_hash is not None
    assert (await hasher.verify(stored_hash=result.new_hash, password=password[:72])).ok is False
    assert (await hasher.verify(stored_hash=result.new_hash, password=password)).ok is True


async def test_django_bcrypt_sha256_does_not_truncate_long_passwords(
    hasher: PasswordHasher,
) -> None:
    first = "a" * 99 + "b"
    stored = django_bcrypt_sha256_hash(first)

    result = await hasher.verify(stored_hash=stored, password="a" * 99 + "c")

    assert result.ok is False


@pytest.mark.parametrize(
    "stored_hash",
    [
        pytest.param("", id="empty"),
        pytest.param("not a hash", id="garbage"),
        pytest.param("md5$salt$5f4dcc3b5aa765d61d8327deb882cf99", id="django-md5-unsupported"),
        pytest.param("sha1$salt$hash", id="django-sha1-unsupported"),
        pytest.param("$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", id="md5-crypt-unsupported"),
        pytest.param("$2x$04$" + "a" * 53, id="bcrypt-2x-unsupported"),
        pytest.param("$argon2id$", id="argon2-truncated"),
        pytest.param("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$!!!", id="argon2-bad-base64"),
        pytest.param("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ", id="argon2-missing-digest"),
        pytest.param(
            "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43, id="argon2-m-too-low"
        ),
        pytest.param("argon2$argon2id$garbage", id="django-argon2-garbage"),
        pytest.param("$2b$04$short", id="bcrypt-truncated"),
        pytest.param("$2b$99$" + "a" * 53, id="bcrypt-cost-impossible"),
        pytest.param("bcrypt_sha256$", id="django-bcrypt-sha256-empty"),
        pytest.param("bcrypt$$2b$04$short", id="django-bcrypt-truncated"),
        pytest.param("pbkdf2_sha256$", id="pbkdf2-empty"),
        pytest.param("pbkdf2_sha256$abc$salt$aGFzaA==", id="pbkdf2-iterations-not-a-number"),
        pytest.param("pbkdf2_sha256$-5$salt$aGFzaA==", id="pbkdf2-iterations-negative"),
        pytest.param("pbkdf2_sha256$0$salt$aGFzaA==", id="pbkdf2-iterations-zero"),
        pytest.param(
            "pbkdf2_sha256$\u0661\u0660\u0660\u0660$salt$aGFzaA==",
            id="pbkdf2-iterations-arabic-digits",
        ),
        pytest.param("pbkdf2_sha256$1000$$aGFzaA==", id="pbkdf2-empty-salt"),
        pytest.param("pbkdf2_sha256$1000$salt$not base64!", id="pbkdf2-key-not-base64"),
        pytest.param("pbkdf2_sha256$1000$salt$aGFzaA==", id="pbkdf2-key-wrong-length"),
        pytest.param("pbkdf2_sha256$1000$salt", id="pbkdf2-missing-key"),
        pytest.param("pbkdf2_sha256$1000$sält$aGFzaA==", id="non-ascii"),
    ],
)
async def test_a_malformed_or_unknown_hash_fails_verification_without_raising(
    hasher: PasswordHasher, stored_hash: str
) -> None:
    result = await hasher.verify(stored_hash=stored_hash, password=PASSWORD)

    assert result.ok is False
    assert result.new_hash is None


async def test_a_bcrypt_cost_above_the_ceiling_is_refused_without_running_it(
    hasher: PasswordHasher,
) -> None:
    # Cost 17 would take seconds per attempt: a corrupt or hostile row must not pin a worker.
    genuine = bcrypt_hash(PASSWORD, cost=4)
    stored = genuine.replace("$04$", "$17$", 1)

    result = await hasher.verify(stored_hash=stored, password=PASSWORD)

    assert result == VerifyResult(ok=False, scheme=HashScheme.BCRYPT, new_hash=None)


async def test_pbkdf2_iterations_above_the_ceiling_are_refused(hasher: PasswordHasher) -> None:
    genuine = django_pbkdf2_hash(PASSWORD, iterations=1000)
    stored = genuine.replace("$1000$", "$10000001$", 1)

    result = await hasher.verify(stored_hash=stored, password=PASSWORD)

    assert result == VerifyResult(ok=False, scheme=HashScheme.DJANGO_PBKDF2_SHA256, new_hash=None)


@pytest.mark.parametrize(
    ("stored_hash", "scheme"),
    [
        ("$argon2id$v=19$...", HashScheme.ARGON2),
        ("$argon2i$v=19$...", HashScheme.ARGON2),
        ("$argon2d$v=19$...", HashScheme.ARGON2),
        ("$2a$10$...", HashScheme.BCRYPT),
        ("$2b$10$...", HashScheme.BCRYPT),
        ("$2y$10$...", HashScheme.BCRYPT),
        ("argon2$argon2id$...", HashScheme.DJANGO_ARGON2),
        ("bcrypt$$2b$...", HashScheme.DJANGO_BCRYPT),
        ("bcrypt_sha256$$2b$...", HashScheme.DJANGO_BCRYPT_SHA256),
        ("pbkdf2_sha256$1000$...", HashScheme.DJANGO_PBKDF2_SHA256),
        ("pbkdf2_sha1$1000$...", HashScheme.DJANGO_PBKDF2_SHA1),
        ("$2x$10$...", None),
        ("md5$salt$hash", None),
        ("argon2id", None),
        ("", None),
    ],
)
def test_schemes_are_identified_by_prefix(stored_hash: str, scheme: HashScheme | None) -> None:
    assert identify_scheme(stored_hash) is scheme


class TestAgainstDjangosOwnHashers:
    """The layouts above, as Django itself writes them (skipped where Django is not installed)."""

    @pytest.mark.parametrize(
        ("hasher_class", "scheme"),
        [
            ("PBKDF2PasswordHasher", HashScheme.DJANGO_PBKDF2_SHA256),
            ("PBKDF2SHA1PasswordHasher", HashScheme.DJANGO_PBKDF2_SHA1),
            ("Argon2PasswordHasher", HashScheme.DJANGO_ARGON2),
            ("BCryptSHA256PasswordHasher", HashScheme.DJANGO_BCRYPT_SHA256),
            ("BCryptPasswordHasher", HashScheme.DJANGO_BCRYPT),
        ],
    )
    async def test_a_hash_written_by_django_verifies_and_upgrades(
        self, hasher: PasswordHasher, hasher_class: str, scheme: HashScheme
    ) -> None:
        hashers = pytest.importorskip("django.contrib.auth.hashers")
        django_hasher = getattr(hashers, hasher_class)()
        # Django's production costs take up to a second; the layout is what is under test.
        django_hasher.iterations = 1000
        django_hasher.rounds = 4
        django_hasher.memory_cost, django_hasher.time_cost, django_hasher.parallelism = 1024, 1, 1
        stored = django_hasher.encode(PASSWORD, django_hasher.salt())

        result = await hasher.verify(stored_hash=stored, password=PASSWORD)
        wrong = await hasher.verify(stored_hash=stored, password=PASSWORD.upper())

        assert result.ok is True
        assert result.scheme is scheme
        assert result.needs_rehash is True
        assert wrong == VerifyResult(ok=False, scheme=scheme, new_hash=None)
