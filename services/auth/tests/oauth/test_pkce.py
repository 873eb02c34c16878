"""PKCE S256 (RFC 7636) and the opaque values the provider stores only as digests."""

from __future__ import annotations

import pytest

from roadbed_auth.oauth.secrets import (
    digest,
    digests_match,
    new_opaque_value,
    pkce_matches,
    s256_challenge,
)

# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_s256_matches_the_rfc_example() -> None:
    assert s256_challenge(RFC_VERIFIER) == RFC_CHALLENGE
    assert pkce_matches(verifier=RFC_VERIFIER, challenge=RFC_CHALLENGE) is True


@pytest.mark.parametrize(
    "verifier",
    [
        RFC_VERIFIER[:-1] + "1",  # another verifier
        RFC_VERIFIER[:42],  # shorter than 43 characters
        "a" * 129,  # longer than 128 characters
        RFC_VERIFIER[:-1] + "+",  # outside the unreserved characters
        RFC_CHALLENGE,  # the challenge itself ("plain")
    ],
)
def test_anything_but_the_verifier_fails(verifier: str) -> None:
    assert pkce_matches(verifier=verifier, challenge=RFC_CHALLENGE) is False


def test_opaque_values_have_256_bits_and_are_stored_as_sha256() -> None:
    value = new_opaque_value()

    assert len(value) == 43
    assert len(digest(value)) == 64
    assert digests_match(value, digest(value)) is True
    assert digests_match(value + "x", digest(value)) is False
