"""``roadbed serve <service>``: one service alone on granian, under its public prefix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("service", ["auth", "blog", "tasks"])
def test_serve_answers_under_the_prefix_only_and_stops_on_sigint(
    service: str, tmp_path: Path
) -> None:
    env = {**os.environ, "ROADBED_VAR_DIR": str(tmp_path / "var")}
    subprocess.run(
        [sys.executable, "-m", "roadbed", "migrate", service],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "roadbed",
            "serve",
            service,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/{service}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, (
                    process.stdout.read().decode() if process.stdout else ""
                )
                assert time.monotonic() < deadline, f"roadbed serve {service} did not start"
                time.sleep(0.3)
        outside = httpx.get(f"{base}/elsewhere/healthz", timeout=5)
        bare = httpx.get(f"{base}/healthz", timeout=5)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            returncode = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise

    assert health.status_code == 200
    assert health.json() == {"status": "ok", "service": service}
    assert (outside.status_code, bare.status_code) == (404, 404)
    assert outside.json()["code"] == "not_found"
    assert returncode == 0, process.stdout.read().decode() if process.stdout else ""
