"""System tests: every service in one process, as ``make up`` runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from roadbed.cli import app as cli_app
from roadbed.embedded import create_app
from roadbed.services import MOUNTED, SERVICES
from roadbed_core.db import make_async_engine, make_async_sessionmaker, unit_of_work
from roadbed_core.events.envelope import CloudEvent, new_event
from roadbed_core.events.inprocess import InProcessBus
from roadbed_core.events.outbox import add_event_async
from roadbed_core.lifecycle import event_plane
from roadbed_tasks.config import get_settings as tasks_settings
from roadbed_tasks.tables import outbox as tasks_outbox

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    from typer.testing import CliRunner

    assert CliRunner().invoke(cli_app, ["migrate"]).exit_code == 0
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.mark.parametrize("service", [spec.name for spec in MOUNTED])
def test_every_service_answers_healthz_under_its_prefix(client: TestClient, service: str) -> None:
    response = client.get(f"/{service}/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": service}


@pytest.mark.parametrize("service", [spec.name for spec in MOUNTED])
def test_every_service_is_ready_and_documented(client: TestClient, service: str) -> None:
    ready = client.get(f"/{service}/readyz")
    docs = client.get(f"/{service}/docs")
    spec = client.get(f"/{service}/openapi.json")

    assert ready.status_code == 200, ready.text
    assert docs.status_code == 200
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == f"Roadbed {service}"


def test_landing_page_links_every_service(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for spec in MOUNTED:
        assert f'href="{spec.prefix}/docs"' in response.text


def test_request_id_is_echoed_through_the_composition(client: TestClient) -> None:
    response = client.get("/tasks/healthz", headers={"X-Request-ID": "system-test-1"})

    assert response.headers["x-request-id"] == "system-test-1"


async def test_an_event_committed_in_a_service_reaches_a_consumer_once() -> None:
    """Outbox row committed in tasks' database -> relay (woken by the commit) -> bus -> consumer."""
    received: list[CloudEvent] = []
    arrived = asyncio.Event()

    async def consumer(event: CloudEvent) -> None:
        received.append(event)
        arrived.set()

    bus = InProcessBus()
    bus.subscribe("system-test", ["roadbed.tasks.#"], consumer)
    tasks_lifecycle = SERVICES["tasks"].load_lifecycle()
    tasks_lifecycle.migrate()
    engine = make_async_engine(tasks_settings().database)
    event = new_event(
        type="roadbed.tasks.project.created.v1", source="/tasks", data={"name": "Roadbed"}
    )
    try:
        # The poll interval is long, so only the commit wake-up can deliver within the wait below.
        async with event_plane([tasks_lifecycle], bus, consumers=False, poll_interval=60):
            async with unit_of_work(make_async_sessionmaker(engine)) as session:
                await add_event_async(session, event, table=tasks_outbox)
            await asyncio.wait_for(arrived.wait(), timeout=10)
            await bus.drain()
        async with engine.connect() as connection:
            published_at = (
                await connection.execute(
                    select(tasks_outbox.c.published_at).where(tasks_outbox.c.id == event.id)
                )
            ).scalar_one()
    finally:
        await engine.dispose()

    assert [e.id for e in received] == [event.id]
    assert received[0].data == {"name": "Roadbed"}
    assert published_at is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_roadbed_up_serves_everything_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "ROADBED_VAR_DIR": str(tmp_path / "var")}
    process = subprocess.Popen(
        [sys.executable, "-m", "roadbed", "up", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "roadbed up did not start within 60s"
            time.sleep(0.3)

        statuses = {
            path: httpx.get(f"{base}{path}", timeout=5).status_code
            for path in ["/", "/auth/healthz", "/shop/healthz", "/blog/healthz", "/tasks/healthz"]
        }
        assert statuses == {
            "/": 200,
            "/auth/healthz": 200,
            "/shop/healthz": 200,
            "/blog/healthz": 200,
            "/tasks/healthz": 200,
        }
        assert (tmp_path / "var" / ".seeded").exists()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            returncode = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    output = process.stdout.read().decode() if process.stdout else ""
    assert returncode == 0, output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output


def test_registering_in_auth_mails_a_verification_link_through_notify(client: TestClient) -> None:
    """auth's outbox -> relay (woken by the commit) -> in-process bus -> notify -> var/mail."""
    from email import message_from_bytes, policy

    from roadbed_core.settings import var_dir

    mail = var_dir() / "mail"
    before = set(mail.glob("*.eml")) if mail.exists() else set()
    email = "newcomer@example.com"

    response = client.post(
        "/auth/v1/accounts",
        json={
            "email": email,
            "password": "correct horse battery staple",
            "display_name": "Newcomer",
        },
    )

    assert response.status_code == 202
    deadline = time.monotonic() + 15
    while not (new := set(mail.glob("*.eml")) - before if mail.exists() else set()):
        assert time.monotonic() < deadline, "no email arrived in var/mail"
        time.sleep(0.1)
    [path] = new
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == f"Newcomer <{email}>"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "http://127.0.0.1:8000/auth/verify-email?token=" in body.get_content()
