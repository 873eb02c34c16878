"""Auth benchmarks, all measured in one run against baselines from the same run.

1. Logins/s through ``POST /auth/v1/sessions`` vs raw argon2id verifies/s with the same thread
   count and parameters (target >= 0.80: the service adds little over the hash).
2. Access-token verification/s through the core ``TokenVerifier`` vs a bare PyJWT decode of the
   same token with the same key (target >= 0.70).
3. Event-loop responsiveness: p99 of a ``/healthz`` probe while the login storm runs (< 50 ms).

Run: ``uv run python -m bench.auth`` (needs ``wrk``).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import argon2
import httpx

from bench.auth_server import ACCOUNTS, PASSWORD, email
from bench.harness import RESULTS, free_port, server

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
HASH_THREADS = 2


def raw_argon2_verifies_per_second(seconds: float) -> float:
    """The ceiling: OWASP argon2id verifies on ``HASH_THREADS`` threads, nothing else."""
    hasher = argon2.PasswordHasher(
        time_cost=2, memory_cost=19 * 1024, parallelism=1, type=argon2.Type.ID
    )  # OWASP
    stored = hasher.hash(PASSWORD)
    deadline = time.perf_counter() + seconds
    counts = [0] * HASH_THREADS

    def work(index: int) -> None:
        while time.perf_counter() < deadline:
            hasher.verify(stored, PASSWORD)
            counts[index] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(HASH_THREADS) as pool:
        list(pool.map(work, range(HASH_THREADS)))
    return sum(counts) / (time.perf_counter() - started)


def _wrk_login(url: str, seconds: int) -> tuple[float, int]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    template = email(0).replace("0", "%d")
    script.write_text(
        "counter = 0\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        f'  local body = string.format(\'{{"email": "{template}", "password": "{PASSWORD}"}}\', counter % {ACCOUNTS})\n'
        '  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)\n'
        "end\n"
    )
    output = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    script.unlink()
    rate = float(output.split("Requests/sec:")[1].split()[0])
    non_2xx = (
        int(output.split("Non-2xx or 3xx responses:")[1].split()[0]) if "Non-2xx" in output else 0
    )
    return rate, non_2xx


def _probe(url: str, stop: threading.Event, samples: list[float]) -> None:
    with httpx.Client() as http:
        while not stop.is_set():
            started = time.perf_counter()
            http.get(url).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
            time.sleep(0.01)


def login_storm(seconds: int) -> tuple[float, int, list[float]]:
    var = tempfile.mkdtemp(prefix="roadbed-bench-auth-")
    env = {
        "ROADBED_VAR_DIR": var,
        "ROADBED_AUTH_DATABASE_URL": f"sqlite:///{var}/auth.db",
        "ROADBED_AUTH_LOG_LEVEL": "WARNING",
        "ROADBED_AUTH_PASSWORD_HASH_WORKERS": str(HASH_THREADS),
        # A benchmark logs in one account over and over: no throttling on success anyway.
    }
    subprocess.run(
        [sys.executable, "-m", "bench.auth_server"], env={**os.environ, **env}, check=True
    )
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "roadbed_auth.app:create_app",
        "--factory",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    samples: list[float] = []
    with server(command, port, env=env, pin=False):
        base = f"http://127.0.0.1:{port}"
        _wrk_login(f"{base}/v1/sessions", 2)  # warm-up: keys loaded, pools filled
        stop = threading.Event()
        probe = threading.Thread(target=_probe, args=(f"{base}/healthz", stop, samples))
        probe.start()
        try:
            rate, non_2xx = _wrk_login(f"{base}/v1/sessions", seconds)
        finally:
            stop.set()
            probe.join()
    return rate, non_2xx, samples


def verification_rates(seconds: float) -> tuple[float, float]:
    """Verifications/s: the core verifier (checks + revocation lookup) vs bare PyJWT decode."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from roadbed_core.cache import AsyncMemoryCache
    from roadbed_core.tokens.jwks import JwksClient
    from roadbed_core.tokens.revocation import RevocationList
    from roadbed_core.tokens.verifier import TokenVerifier

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    public_jwk |= {"kid": "bench", "alg": "RS256", "use": "sig"}
    now = int(time.time())
    claims = {
        "iss": "http://bench/auth",
        "sub": "user-1",
        "aud": "roadbed",
        "exp": now + 3600,
        "iat": now,
        "jti": "j" * 22,
        "client_id": "roadbed",
        "scope": "",
        "roles": ["customer"],
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "bench", "typ": "at+jwt"})
    verifier = TokenVerifier(
        JwksClient.from_jwks({"keys": [public_jwk]}),
        issuer="http://bench/auth",
        audience="roadbed",
        revocation=RevocationList(async_cache=AsyncMemoryCache()),
    )
    public_key = key.public_key()

    def bare() -> None:
        jwt.decode(
            token, public_key, algorithms=["RS256"], audience="roadbed", issuer="http://bench/auth"
        )

    async def through_core(deadline: float) -> int:
        count = 0
        while time.perf_counter() < deadline:
            await verifier.averify(token)
            count += 1
        return count

    started = time.perf_counter()
    count = 0
    while time.perf_counter() - started < seconds:
        bare()
        count += 1
    bare_rate = count / (time.perf_counter() - started)
    started = time.perf_counter()
    core_count = asyncio.run(through_core(started + seconds))
    core_rate = core_count / (time.perf_counter() - started)
    return core_rate, bare_rate


def main() -> None:
    raw = raw_argon2_verifies_per_second(SECONDS)
    logins, non_2xx, samples = login_storm(SECONDS)
    core, bare = verification_rates(min(SECONDS, 5))
    p99 = statistics.quantiles(samples, n=100)[98] if len(samples) >= 100 else max(samples)
    lines = [
        "## Auth",
        "",
        "| what | measured | baseline (same run) | ratio | target |",
        "|---|---:|---:|---:|---:|",
        f"| logins/s (`POST /v1/sessions`, {HASH_THREADS} hash threads) | {logins:,.1f} | raw argon2id verifies/s {raw:,.1f} | {logins / raw:.2f} | >= 0.80 |",
        f"| token verifications/s (core verifier, revocation checked) | {core:,.0f} | bare PyJWT decode/s {bare:,.0f} | {core / bare:.2f} | >= 0.70 |",
        f"| `/healthz` p99 during the login storm ({len(samples)} probes) | {p99:.1f} ms | | | < 50 ms |",
        f"| non-2xx login responses | {non_2xx} | | | 0 |",
        "",
    ]
    text = "\n".join(lines)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "auth.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
