"""Shared benchmark plumbing: start a server pinned to one core, load it with wrk from the other.

Numbers swing about ±30% on a shared 2-core machine, so every benchmark measures its baseline in
the same run and reports ratios; each point is the best of ``rounds`` short runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Measurement:
    label: str
    path: str
    requests_per_second: float
    non_2xx: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.2)
    raise TimeoutError(f"server on port {port} did not start in {timeout}s")


def _pin(core: int) -> list[str]:
    return (
        ["taskset", "-c", str(core)]
        if shutil.which("taskset") and (os.cpu_count() or 1) > 1
        else []
    )


@contextlib.contextmanager
def server(
    command: Sequence[str], port: int, env: dict[str, str] | None = None, *, pin: bool = True
) -> Iterator[None]:
    """Run ``command`` (which must listen on ``port``), on core 0 when ``pin``, until the block ends."""
    process = subprocess.Popen(
        [*(_pin(0) if pin else []), *command],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_serving(port, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk(url: str, *, seconds: int = 5, connections: int = 64, rounds: int = 3) -> tuple[float, int]:
    """Best requests/s of ``rounds`` wrk runs from core 1, and the non-2xx count of that run."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    best = (0.0, 0)
    for _ in range(rounds):
        output = subprocess.run(
            [*_pin(1), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
        errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
        if rate > best[0]:
            best = (rate, int(errors.group(1)) if errors else 0)
    return best


def report(title: str, baseline: Measurement, rows: Sequence[Measurement]) -> str:
    lines = [
        f"## {title}",
        "",
        "| what | path | req/s | ratio to baseline | non-2xx |",
        "|---|---|---:|---:|---:|",
    ]
    for row in (baseline, *rows):
        ratio = row.requests_per_second / baseline.requests_per_second
        lines.append(
            f"| {row.label} | `{row.path}` | {row.requests_per_second:,.0f} | {ratio:.2f} | {row.non_2xx} |"
        )
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    (RESULTS / f"{slug}.md").write_text(text)
    return text
