"""The blog (Django) answers its operational endpoints; its migrations run on PostgreSQL too."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest
from django.test import Client

from roadbed_core.testing.operational import check_operational_endpoints


@pytest.mark.django_db
def test_operational_endpoints(client: Client) -> None:
    check_operational_endpoints(
        client.get, service="blog", title="Roadbed blog", readiness_checks={"database", "cache"}
    )


@pytest.mark.django_db
def test_admin_login_page_is_served(client: Client) -> None:
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert b"Django administration" in response.content


@pytest.mark.django_db
def test_method_not_allowed_on_healthz_is_405(client: Client) -> None:
    response = client.post("/healthz")

    assert response.status_code == 405


def test_migrations_apply_on_postgresql(postgres_url: str) -> None:
    env = {**os.environ, "ROADBED_BLOG_DATABASE_URL": postgres_url}

    result = subprocess.run(
        [sys.executable, "-m", "roadbed", "migrate", "blog"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    with psycopg.connect(postgres_url) as connection:
        tables = {
            row[0]
            for row in connection.execute(
                "select tablename from pg_tables where schemaname = 'public'"
            )
        }
    assert {
        "roadbed_event_outbox",
        "roadbed_event_inbox",
        "django_migrations",
        "django_session",
    } <= tables
