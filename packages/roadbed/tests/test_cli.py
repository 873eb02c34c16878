"""The ``roadbed`` command: help everywhere, migrate and seed (idempotent), clear errors."""

from __future__ import annotations

import sqlite3

import pytest
from typer.testing import CliRunner

from roadbed.cli import app
from roadbed_core.settings import var_dir

runner = CliRunner()

COMMANDS = ["up", "serve", "relay", "worker", "migrate", "seed"]


@pytest.mark.parametrize(
    "command", [[], ["auth"], ["auth", "rotate-keys"], *([name] for name in COMMANDS)]
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_top_level_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])

    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_migrate_creates_every_database_and_is_repeatable() -> None:
    first = runner.invoke(app, ["migrate"])
    second = runner.invoke(app, ["migrate"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    for service in ("auth", "shop", "tasks", "notify"):
        with sqlite3.connect(var_dir() / f"{service}.db") as connection:
            tables = {
                row[0]
                for row in connection.execute("select name from sqlite_master where type='table'")
            }
        assert {"event_outbox", "event_inbox", "alembic_version"} <= tables
    with sqlite3.connect(var_dir() / "blog.db") as connection:
        tables = {
            row[0]
            for row in connection.execute("select name from sqlite_master where type='table'")
        }
    assert {"roadbed_event_outbox", "roadbed_event_inbox", "django_migrations"} <= tables


def test_migrate_one_service() -> None:
    result = runner.invoke(app, ["migrate", "tasks"])

    assert result.exit_code == 0, result.output
    assert "migrated tasks" in result.output
    assert "migrated auth" not in result.output


def test_seed_twice_creates_nothing_the_second_time() -> None:
    runner.invoke(app, ["migrate"])
    runner.invoke(app, ["seed"])

    again = runner.invoke(app, ["seed"])

    assert again.exit_code == 0, again.output
    assert again.output.count("nothing new") == 5


def test_unknown_service_is_a_usage_error() -> None:
    result = runner.invoke(app, ["migrate", "billing"])

    assert result.exit_code == 2
    assert "unknown service 'billing'" in result.output


def test_auth_rotate_keys_publishes_new_keys_before_they_sign() -> None:
    runner.invoke(app, ["migrate", "auth"])
    runner.invoke(app, ["auth", "rotate-keys"])  # bootstraps the first keys if there are none

    result = runner.invoke(app, ["auth", "rotate-keys", "--algorithm", "RS256"])

    assert result.exit_code == 0, result.output
    lines = [
        line.split()
        for line in result.output.splitlines()
        if line.startswith("  ") and "RS256" in line
    ]
    states = sorted(line[0] for line in lines if line[0] in {"pending", "active"})
    assert states == ["active", "pending"]


def test_auth_rotate_keys_refuses_an_unconfigured_algorithm() -> None:
    runner.invoke(app, ["migrate", "auth"])

    result = runner.invoke(app, ["auth", "rotate-keys", "--algorithm", "HS256"])

    assert result.exit_code == 2
    assert "not configured for HS256" in result.output
