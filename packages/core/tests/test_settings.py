"""ServiceSettings: prefixes, shared variables, production refusing placeholder secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from roadbed_core.settings import (
    DEV_SECRET_PREFIX,
    Environment,
    InsecureSettingsError,
    ServiceSettings,
    dev_secret,
    sqlite_url,
    var_dir,
)


class ShopSettings(ServiceSettings):
    """A service's settings as services define them: own prefix, one more secret."""

    service_name = "shop"
    model_config = SettingsConfigDict(env_prefix="ROADBED_SHOP_")

    payment_webhook_secret: SecretStr = dev_secret("payment-webhook-secret")
    page_size: int = 20


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ROADBED_* (or look-alike) variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("ROADBED_") or name.upper() in {"ENV", "PUBLIC_ORIGIN"}:
            monkeypatch.delenv(name)


def test_defaults_are_development() -> None:
    settings = ShopSettings()
    assert settings.env is Environment.DEV
    assert (settings.is_prod, settings.json_logs, settings.log_level) == (False, False, "INFO")
    assert (settings.cache_url, settings.amqp_url) == (None, None)
    assert settings.secret_key.get_secret_value() == f"{DEV_SECRET_PREFIX}secret-key"


def test_service_variables_use_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_SHOP_PAGE_SIZE", "50")
    monkeypatch.setenv("ROADBED_SHOP_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("ROADBED_SHOP_CACHE_URL", "redis://cache:6379/0")
    settings = ShopSettings()
    assert (settings.page_size, settings.log_level, settings.cache_url) == (
        50,
        "DEBUG",
        "redis://cache:6379/0",
    )


def test_another_services_prefix_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_AUTH_PAGE_SIZE", "99")
    monkeypatch.setenv("ROADBED_PAGE_SIZE", "98")
    assert ShopSettings().page_size == 20


def test_env_and_public_origin_are_shared_by_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_ENV", "test")
    monkeypatch.setenv("ROADBED_PUBLIC_ORIGIN", "https://roadbed.example/")
    settings = ShopSettings()
    assert (settings.env, settings.public_origin) == (Environment.TEST, "https://roadbed.example/")
    assert settings.issuer == "https://roadbed.example/auth"


def test_unprefixed_look_alike_variables_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # given variables other software sets (a bare ENV is common in container images)
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("PUBLIC_ORIGIN", "https://elsewhere.example")
    # then they neither crash the start nor configure us
    settings = ShopSettings()
    assert (settings.env, settings.public_origin) == (Environment.DEV, "http://127.0.0.1:8000")


def test_fields_can_be_given_by_name_in_code() -> None:
    settings = ShopSettings(env="test", public_origin="https://x.example")
    assert (settings.env, settings.public_origin) == (Environment.TEST, "https://x.example")


def test_an_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_ENV", "staging")
    with pytest.raises(ValidationError, match="ROADBED_ENV"):
        ShopSettings()


def test_settings_are_frozen() -> None:
    settings = ShopSettings()
    with pytest.raises(ValidationError, match="frozen"):
        settings.page_size = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("log_json", "env", "expected"),
    [(None, "prod", True), (None, "dev", False), (False, "prod", False), (True, "dev", True)],
)
def test_json_logs_default_to_production_only(
    monkeypatch: pytest.MonkeyPatch, log_json: bool | None, env: str, expected: bool
) -> None:
    monkeypatch.setenv("ROADBED_SHOP_SECRET_KEY", "real-secret")
    monkeypatch.setenv("ROADBED_SHOP_PAYMENT_WEBHOOK_SECRET", "real-webhook-secret")
    settings = ShopSettings(env=env, log_json=log_json)
    assert settings.json_logs is expected


def test_prod_refuses_placeholder_secrets_and_names_their_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROADBED_ENV", "prod")
    with pytest.raises(InsecureSettingsError) as raised:
        ShopSettings()
    assert str(raised.value) == (
        "refusing to start with ROADBED_ENV=prod: set real values for "
        "ROADBED_SHOP_PAYMENT_WEBHOOK_SECRET, ROADBED_SHOP_SECRET_KEY "
        "(they still hold development placeholders)"
    )


def test_prod_refuses_an_empty_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_ENV", "prod")
    monkeypatch.setenv("ROADBED_SHOP_SECRET_KEY", "")
    monkeypatch.setenv("ROADBED_SHOP_PAYMENT_WEBHOOK_SECRET", "real-webhook-secret")
    with pytest.raises(
        InsecureSettingsError, match=r"set real values for ROADBED_SHOP_SECRET_KEY \("
    ):
        ShopSettings()


def test_prod_starts_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_ENV", "prod")
    monkeypatch.setenv("ROADBED_SHOP_SECRET_KEY", "a-real-secret")
    monkeypatch.setenv("ROADBED_SHOP_PAYMENT_WEBHOOK_SECRET", "another-real-secret")
    settings = ShopSettings()
    assert (settings.is_prod, settings.secret_key.get_secret_value()) == (True, "a-real-secret")


def test_secrets_are_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_SHOP_SECRET_KEY", "a-real-secret")
    assert "a-real-secret" not in repr(ShopSettings())


def test_placeholders_are_fine_outside_prod() -> None:
    assert ShopSettings(env="test").secret_key.get_secret_value().startswith(DEV_SECRET_PREFIX)


def test_var_dir_and_sqlite_url_follow_roadbed_var_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ROADBED_VAR_DIR", str(tmp_path))
    assert var_dir() == tmp_path.resolve()
    assert sqlite_url("shop") == f"sqlite:///{tmp_path.resolve() / 'shop.db'}"


def test_database_defaults_to_the_services_sqlite_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ROADBED_VAR_DIR", str(tmp_path))
    assert ShopSettings().database == f"sqlite:///{tmp_path.resolve() / 'shop.db'}"
    monkeypatch.setenv("ROADBED_SHOP_DATABASE_URL", "postgresql://db/shop")
    assert ShopSettings().database == "postgresql://db/shop"


def test_var_dir_defaults_to_var_under_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert var_dir() == (tmp_path / "var").resolve()
