"""The ASVS 5.0 V6.2 password policy: length in code points, no composition rules, blocklists."""

from __future__ import annotations

import pytest

from roadbed_auth.password import (
    BreachCheckUnavailable,
    BreachedPasswordChecker,
    NoBreachedPasswordChecker,
    PasswordPolicy,
    WeakPassword,
    load_common_passwords,
)
from roadbed_core.errors import FieldError

TOO_SHORT = FieldError(
    field="password", message="Password must be at least 8 characters long.", code="too_short"
)
TOO_LONG = FieldError(
    field="password", message="Password must be at most 1024 characters long.", code="too_long"
)
COMMON = FieldError(
    field="password",
    message="This password is too common; choose one that is harder to guess.",
    code="common_password",
)
USER_DATA = FieldError(
    field="password",
    message="Password must not be your email address, your name or the site's name.",
    code="contains_user_data",
)
INVALID_CHARACTER = FieldError(
    field="password",
    message="Password must not contain control characters.",
    code="invalid_character",
)
# "password1" in full-width forms (U+FF50...), which NFKC folds back to ASCII.
FULL_WIDTH_PASSWORD1 = "".join(chr(ord(character) + 0xFEE0) for character in "password1")
BREACHED = FieldError(
    field="password",
    message="This password has appeared in a data breach; choose another.",
    code="breached_password",
)


class KnownBreaches:
    """A breach corpus of a few passwords, standing in for the remote service we cannot reach."""

    def __init__(self, *breached: str, available: bool = True) -> None:
        self.breached = set(breached)
        self.available = available
        self.asked: list[str] = []

    async def is_breached(self, password: str) -> bool:
        self.asked.append(password)
        if not self.available:
            raise BreachCheckUnavailable("corpus unreachable")
        return password in self.breached


@pytest.fixture
def policy() -> PasswordPolicy:
    return PasswordPolicy()


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("correct horse battery staple", id="spaces"),
        pytest.param("   leading and trailing   ", id="surrounding-spaces-kept"),
        pytest.param("ünïcödé-wörds", id="latin-accents"),
        pytest.param("длинный пароль", id="cyrillic"),
        pytest.param("我的密码很长很长", id="cjk-8-code-points"),
        pytest.param("🔑🔑🔑🔑🔑🔑🔑🔑", id="emoji-8-code-points"),
        pytest.param("family 👨‍👩‍👧 trip", id="zero-width-joiner"),
        pytest.param("alllowercaseletters", id="no-composition-rules"),
        pytest.param("x" * 1024, id="1024-characters"),
        pytest.param("my friend jane.doe is great", id="user-data-inside-a-sentence"),
    ],
)
async def test_acceptable_passwords_have_no_violations(
    policy: PasswordPolicy, password: str
) -> None:
    assert (
        await policy.violations(password, email="jane.doe@example.com", display_name="Jane") == ()
    )


async def test_length_is_counted_in_code_points(policy: PasswordPolicy) -> None:
    # 7 code points but 28 UTF-8 bytes: too short, whatever the byte count.
    assert await policy.violations("🔑" * 7) == (TOO_SHORT,)
    # "e" + combining acute is two code points: eight of them make eight characters.
    assert await policy.violations("e\u0301" * 4) == ()


@pytest.mark.parametrize(
    ("length", "expected"), [(7, (TOO_SHORT,)), (8, ()), (1024, ()), (1025, (TOO_LONG,))]
)
async def test_length_limits(
    policy: PasswordPolicy, length: int, expected: tuple[FieldError, ...]
) -> None:
    password = ("zq8-fjw k" * 129)[:length]

    assert await policy.violations(password) == expected


async def test_limits_are_configurable_within_asvs_bounds() -> None:
    policy = PasswordPolicy(min_length=12, max_length=64)

    assert await policy.violations("q" * 11 + "z") == ()
    assert await policy.violations("q" * 10 + "z") == (
        FieldError(
            field="password",
            message="Password must be at least 12 characters long.",
            code="too_short",
        ),
    )
    assert await policy.violations("q" * 64 + "z") == (
        FieldError(
            field="password",
            message="Password must be at most 64 characters long.",
            code="too_long",
        ),
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"min_length": 7}, "min_length must be at least 8"),
        ({"max_length": 63}, "max_length must be at least 64"),
        ({"min_length": 100, "max_length": 99}, "max_length must be at least 64 .* and min_length"),
    ],
)
def test_limits_below_asvs_are_refused(arguments: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PasswordPolicy(**arguments)


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("password1", id="exact"),
        pytest.param("PASSWORD1", id="upper-case"),
        pytest.param("PassWord1", id="mixed-case"),
        pytest.param("pass word1", id="inner-space"),
        pytest.param(FULL_WIDTH_PASSWORD1, id="full-width"),
        pytest.param("iloveyou", id="iloveyou"),
        pytest.param("qwertyuiop", id="keyboard-walk"),
        pytest.param("1q2w3e4r5t", id="keyboard-pattern"),
        pytest.param("12345678", id="digits"),
    ],
)
async def test_common_passwords_are_rejected_case_insensitively(
    policy: PasswordPolicy, password: str
) -> None:
    assert await policy.violations(password) == (COMMON,)


def test_the_bundled_list_holds_only_passwords_the_length_rule_lets_through() -> None:
    common = load_common_passwords()

    assert len(common) == 8346
    assert {"password", "iloveyou", "sunshine", "football", "baseball"} <= common
    assert "#1stunna" in common  # a password that starts with "#", not a comment
    assert min(len(password) for password in common) == 8


async def test_a_custom_list_replaces_the_bundled_one() -> None:
    policy = PasswordPolicy(common_passwords=["Roadrunner99"])

    assert await policy.violations("ROADRUNNER99") == (COMMON,)
    assert await policy.violations("password1") == ()


@pytest.mark.parametrize(
    ("password", "email", "display_name"),
    [
        pytest.param("jane.doe@example.com", "jane.doe@example.com", None, id="email"),
        pytest.param("JANE.DOE@EXAMPLE.COM", "jane.doe@example.com", None, id="email-upper-case"),
        pytest.param("jane.doe", "jane.doe@example.com", None, id="local-part"),
        pytest.param("jane.doe99", "jane.doe@example.com", None, id="local-part-with-digits"),
        pytest.param("!jane.doe!", "jane.doe@example.com", None, id="local-part-with-symbols"),
        pytest.param("Janet Dolittle", None, "Janet Dolittle", id="display-name"),
        pytest.param("janetdolittle", None, "Janet Dolittle", id="display-name-without-space"),
        pytest.param("JanetDolittle2024", None, "Janet Dolittle", id="display-name-with-year"),
        pytest.param("roadbed2024", None, None, id="service-name"),
        pytest.param("Roadbed Auth", None, None, id="service-context-word"),
    ],
)
async def test_passwords_made_of_the_accounts_own_data_are_rejected(
    policy: PasswordPolicy, password: str, email: str | None, display_name: str | None
) -> None:
    assert await policy.violations(password, email=email, display_name=display_name) == (USER_DATA,)


async def test_every_violation_is_reported_at_once(policy: PasswordPolicy) -> None:
    violations = await policy.violations("jane\x00", email="jane@example.com")

    assert violations == (TOO_SHORT, INVALID_CHARACTER, USER_DATA)


async def test_a_common_password_that_is_also_the_name_reports_both(policy: PasswordPolicy) -> None:
    assert await policy.violations("iloveyou", display_name="ILoveYou") == (COMMON, USER_DATA)


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("new\nline password", id="newline"),
        pytest.param("tab\tseparated", id="tab"),
        pytest.param("nul\x00character", id="nul"),
        pytest.param("lone \ud800 surrogate", id="lone-surrogate"),
    ],
)
async def test_control_characters_and_lone_surrogates_are_rejected(
    policy: PasswordPolicy, password: str
) -> None:
    assert await policy.violations(password) == (INVALID_CHARACTER,)


async def test_check_raises_weak_password_with_every_field_error(policy: PasswordPolicy) -> None:
    with pytest.raises(WeakPassword) as raised:
        await policy.check("iloveyou", display_name="iloveyou", field="new_password")

    assert raised.value.to_problem() == {
        "type": "urn:roadbed:problem:weak_password",
        "title": "Weak password",
        "status": 422,
        "code": "weak_password",
        "detail": "The password does not meet the password policy.",
        "errors": [
            {
                "field": "new_password",
                "message": "This password is too common; choose one that is harder to guess.",
                "code": "common_password",
            },
            {
                "field": "new_password",
                "message": "Password must not be your email address, your name or the site's name.",
                "code": "contains_user_data",
            },
        ],
    }


async def test_check_returns_quietly_for_an_acceptable_password(policy: PasswordPolicy) -> None:
    assert await policy.check("correct horse battery staple", email="jane@example.com") is None


async def test_a_configured_breach_checker_rejects_breached_passwords() -> None:
    breaches = KnownBreaches("correct horse battery staple")
    policy = PasswordPolicy(breached_password_checker=breaches)

    assert await policy.violations("correct horse battery staple") == (BREACHED,)
    assert await policy.violations("a rarer horse battery staple") == ()
    assert breaches.asked == ["correct horse battery staple", "a rarer horse battery staple"]


async def test_the_breach_checker_is_not_asked_about_a_password_already_refused() -> None:
    breaches = KnownBreaches("password1")
    policy = PasswordPolicy(breached_password_checker=breaches)

    assert await policy.violations("password1") == (COMMON,)
    assert await policy.violations("short") == (TOO_SHORT,)
    assert breaches.asked == []


async def test_an_unreachable_breach_checker_lets_the_password_through() -> None:
    breaches = KnownBreaches("correct horse battery staple", available=False)
    policy = PasswordPolicy(breached_password_checker=breaches)

    assert await policy.violations("correct horse battery staple") == ()
    assert breaches.asked == ["correct horse battery staple"]


async def test_the_default_breach_checker_knows_no_breaches() -> None:
    checker = NoBreachedPasswordChecker()

    assert isinstance(checker, BreachedPasswordChecker)
    assert isinstance(KnownBreaches(), BreachedPasswordChecker)
    assert await checker.is_breached("password1") is False
