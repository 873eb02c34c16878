"""How to mount Django and Flask in the embedded process: a2wsgi vs their ASGI adapters.

Run: ``uv run python -m bench.mounting``. Each variant serves the real blog and tasks apps (with
their middleware) beside a bare ASGI endpoint, on uvicorn pinned to one core.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from bench.harness import Measurement, free_port, report, server, wrk

PATHS = {"blog": "/blog/healthz", "tasks": "/tasks/healthz"}


def measure(variant: str, *, seconds: int, rounds: int) -> tuple[Measurement, list[Measurement]]:
    var = tempfile.mkdtemp(prefix="roadbed-bench-")
    env = {"BENCH_MOUNT": variant, "ROADBED_VAR_DIR": var}
    subprocess.run(
        [sys.executable, "-m", "roadbed", "migrate"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.mount_app:create_app",
        "--factory",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with server(command, port, env=env):
        base = f"http://127.0.0.1:{port}"
        wrk(f"{base}/bare", seconds=1, rounds=1)  # warm-up
        rate, errors = wrk(f"{base}/bare", seconds=seconds, rounds=rounds)
        baseline = Measurement(f"bare ASGI ({variant} run)", "/bare", rate, errors)
        rows = []
        for name, path in PATHS.items():
            wrk(f"{base}{path}", seconds=1, rounds=1)
            rate, errors = wrk(f"{base}{path}", seconds=seconds, rounds=rounds)
            rows.append(Measurement(f"{name} via {variant}", path, rate, errors))
    return baseline, rows


def main(seconds: int = 5, rounds: int = 3) -> None:
    for variant in ("a2wsgi", "native-asgi"):
        baseline, rows = measure(variant, seconds=seconds, rounds=rounds)
        print(report(f"Embedded mounting: {variant}", baseline, rows))


if __name__ == "__main__":
    main()
