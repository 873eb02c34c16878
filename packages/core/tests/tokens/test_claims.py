"""Claims parsing and the scope/role gate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from roadbed_core.tokens import Claims, InsufficientScope, InvalidToken, check_access


def payload(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": "https://id.example.test/auth",
        "sub": "user-1",
        "aud": ["https://api.example.test/blog", "https://api.example.test/shop"],
        "exp": 1_700_000_300,
        "iat": 1_700_000_000,
        "jti": "token-1",
        "client_id": "roadbed-web",
        "scope": "articles:read articles:write",
        "roles": ["author", "editor"],
        "tenant": "acme",
    }
    base.update(overrides)
    return base


def test_from_payload_types_every_claim() -> None:
    # Given a decoded payload / When it becomes Claims
    claims = Claims.from_payload(payload())

    # Then every field is typed and extra claims stay readable in raw
    assert claims == Claims(
        sub="user-1",
        iss="https://id.example.test/auth",
        aud=("https://api.example.test/blog", "https://api.example.test/shop"),
        exp=datetime(2023, 11, 14, 22, 18, 20, tzinfo=UTC),
        iat=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        jti="token-1",
        client_id="roadbed-web",
        scope=frozenset({"articles:read", "articles:write"}),
        roles=frozenset({"author", "editor"}),
    )
    assert claims.raw["tenant"] == "acme"


def test_claims_are_immutable_and_hashable() -> None:
    claims = Claims.from_payload(payload())

    with pytest.raises(AttributeError):
        claims.sub = "someone-else"  # type: ignore[misc]
    with pytest.raises(TypeError):
        claims.raw["sub"] = "someone-else"  # type: ignore[index]
    assert hash(claims) == hash(Claims.from_payload(payload()))


@pytest.mark.parametrize(
    ("overrides", "expected_aud", "expected_scope", "expected_roles"),
    [
        ({"aud": "https://api.example.test/blog"}, ("https://api.example.test/blog",), None, None),
        ({"scope": ["a", "b"]}, None, frozenset({"a", "b"}), None),
        ({"scope": None}, None, frozenset(), None),
        ({"roles": []}, None, None, frozenset()),
    ],
    ids=["aud-string", "scope-array", "scope-absent", "roles-empty"],
)
def test_from_payload_accepts_the_alternative_shapes(
    overrides: dict[str, Any],
    expected_aud: tuple[str, ...] | None,
    expected_scope: frozenset[str] | None,
    expected_roles: frozenset[str] | None,
) -> None:
    claims = Claims.from_payload(payload(**overrides))

    if expected_aud is not None:
        assert claims.aud == expected_aud
    if expected_scope is not None:
        assert claims.scope == expected_scope
    if expected_roles is not None:
        assert claims.roles == expected_roles


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": 42},
        {"sub": ""},
        {"client_id": None},
        {"roles": "admin"},
        {"roles": ["admin", 1]},
        {"scope": 7},
        {"aud": [1]},
        {"exp": "tomorrow"},
        {"iat": True},
    ],
    ids=repr,
)
def test_from_payload_rejects_badly_typed_claims(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken) as caught:
        Claims.from_payload(payload(**overrides))

    assert caught.value.reason == "bad_claims"


def test_has_scope_needs_every_scope_and_has_role_needs_any_role() -> None:
    claims = Claims.from_payload(payload())

    assert claims.has_scope("articles:read") is True
    assert claims.has_scope("articles:read", "articles:write") is True
    assert claims.has_scope("articles:read", "admin:all") is False
    assert claims.has_role("editor") is True
    assert claims.has_role("admin", "editor") is True
    assert claims.has_role("admin") is False


def test_check_access_passes_with_the_needed_scopes_and_one_role() -> None:
    claims = Claims.from_payload(payload())

    check_access(claims, scopes=("articles:write",), roles=("admin", "author"))


def test_check_access_names_missing_scopes_in_detail_and_challenge() -> None:
    claims = Claims.from_payload(payload())

    with pytest.raises(InsufficientScope) as caught:
        check_access(claims, scopes=("articles:read", "admin:write", "admin:read"))

    error = caught.value
    assert (error.status, error.code, error.detail) == (
        403,
        "insufficient_scope",
        "missing scope: admin:read admin:write",
    )
    assert error.headers == {
        "WWW-Authenticate": 'Bearer error="insufficient_scope", '
        'error_description="The access token does not grant this operation", '
        'scope="admin:read admin:write articles:read"'
    }


def test_check_access_rejects_a_token_without_any_wanted_role() -> None:
    claims = Claims.from_payload(payload())

    with pytest.raises(InsufficientScope) as caught:
        check_access(claims, roles=("moderator", "admin"))

    assert caught.value.detail == "requires one of the roles: admin, moderator"
