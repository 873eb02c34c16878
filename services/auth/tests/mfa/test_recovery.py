"""Recovery codes: generation, hashing, single use, normalisation, exhaustive comparison."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest

from roadbed_auth.mfa import RecoveryCodes
from roadbed_auth.mfa.recovery import ALPHABET

CODES = RecoveryCodes()
KNOWN = "0123-4567-89AB-CDEF"


class WatchedHashes(list[str | None]):
    """A list of stored hashes that records which entries a matcher looked at."""

    def __init__(self, hashes: list[str | None]) -> None:
        super().__init__(hashes)
        self.seen: list[int] = []

    def __iter__(self) -> Iterator[str | None]:
        for index, value in enumerate(list.__iter__(self)):
            self.seen.append(index)
            yield value


def test_ten_codes_of_sixteen_symbols_in_groups_of_four() -> None:
    plain, hashes = CODES.generate()

    pattern = re.compile(rf"[{ALPHABET}]{{4}}(-[{ALPHABET}]{{4}}){{3}}")
    assert len(plain) == 10
    assert len(set(plain)) == 10
    assert all(pattern.fullmatch(code) for code in plain)
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in hashes)


def test_the_stored_hashes_are_the_codes_hashes_in_order() -> None:
    plain, hashes = CODES.generate()

    assert hashes == [CODES.hash(code) for code in plain]
    assert [CODES.match(hashes, code) for code in plain] == list(range(10))


def test_the_hash_is_a_domain_separated_sha256_of_the_canonical_code() -> None:
    expected = hashlib.sha256(b"roadbed:auth:recovery-code:v1\x000123456789ABCDEF").hexdigest()

    assert CODES.hash(KNOWN) == expected


def test_two_generations_share_no_code() -> None:
    first, _ = CODES.generate()
    second, _ = CODES.generate()

    assert set(first).isdisjoint(second)


def test_a_used_code_does_not_match_again() -> None:
    plain, hashes = CODES.generate()
    stored: list[str | None] = list(hashes)

    index = CODES.match(stored, plain[3])
    assert index == 3
    stored[index] = None  # what the caller's "mark used" leaves behind

    assert CODES.match(stored, plain[3]) is None
    assert CODES.match(stored, plain[4]) == 4


@pytest.mark.parametrize(
    "typed",
    [
        "0123-4567-89AB-CDEF",
        "0123456789abcdef",
        "  0123 4567 89ab cdef ",
        "0123\u20134567\u201389AB\u2013CDEF",  # en dashes, as word processors write them
        "O123-4567-89AB-CDEF",  # letter O for zero
        "0I23-4567-89AB-CDEF",  # letter I for one
        "0l23-4567-89ab-cdef",  # letter l for one
        "\uff10\uff11\uff12\uff13-4567-89AB-CDEF",  # full-width digits
    ],
)
def test_typed_variants_match_the_code(typed: str) -> None:
    assert CODES.match([CODES.hash("0000-0000-0000-0000"), CODES.hash(KNOWN)], typed) == 1


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "0123-4567-89AB-CDE",  # one symbol short
        "0123-4567-89AB-CDEF0",  # one symbol long
        "0123-4567-89AB-CDEU",  # U is not in the alphabet
        "0123-4567-89AB-CDE!",
        "0" * 10_000,
        "1123-4567-89AB-CDEF",  # well-formed, not ours
    ],
)
def test_other_input_matches_nothing(typed: str) -> None:
    assert CODES.match([CODES.hash(KNOWN)], typed) is None


def test_every_stored_hash_is_compared_even_after_a_match() -> None:
    plain, hashes = CODES.generate()
    watched = WatchedHashes(list(hashes))

    index = CODES.match(watched, plain[0])

    assert index == 0
    assert watched.seen == list(range(10))


def test_hashing_something_that_is_not_a_code_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a recovery code"):
        CODES.hash("hunter2")


def test_codes_too_short_for_a_fast_hash_are_refused() -> None:
    with pytest.raises(ValueError, match="length >= 16"):
        RecoveryCodes(length=10)
