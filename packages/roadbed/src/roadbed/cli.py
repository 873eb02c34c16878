"""The ``roadbed`` command: run everything embedded, or one service the production way."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from roadbed.services import MOUNTED, SERVICES, Interface, ServiceSpec, get_service

app = typer.Typer(
    name="roadbed",
    help="Roadbed: four services and a worker, embedded in one process or run one per process.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

ServiceArg = Annotated[
    str | None,
    typer.Argument(help=f"One of: {', '.join(SERVICES)}. Omit for all.", show_default=False),
]


def _selected(name: str | None) -> list[ServiceSpec]:
    if name is None:
        return list(SERVICES.values())
    try:
        return [get_service(name)]
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from None


def _migrate(specs: list[ServiceSpec]) -> None:
    for spec in specs:
        spec.load_lifecycle().migrate()
        # Services configure logging as they load; Alembic's per-revision lines are noise here
        # (the summary line below says what happened).
        logging.getLogger("alembic").setLevel(logging.WARNING)
        console.print(f"[green]migrated[/] {spec.name}")


def _seed(specs: list[ServiceSpec]) -> None:
    from roadbed_core.lifecycle import SeedRefused

    for spec in specs:
        try:
            created = spec.load_lifecycle().seed()
        except SeedRefused as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(code=2) from None
        summary = ", ".join(created) if created else "nothing new"
        console.print(f"[green]seeded[/] {spec.name}: {summary}")


@app.command()
def migrate(service: ServiceArg = None) -> None:
    """Apply every pending database migration (all services, or one)."""
    _migrate(_selected(service))


@app.command()
def seed(service: ServiceArg = None) -> None:
    """Load the demo data (idempotent: running it twice creates nothing twice)."""
    _seed(_selected(service))


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    seed_data: Annotated[
        bool, typer.Option("--seed/--no-seed", help="Seed demo data on the first start.")
    ] = True,
) -> None:
    """Run every service in this one process (SQLite under var/, in-process bus and cache)."""
    import uvicorn

    from roadbed.embedded import first_start_marker

    os.environ.setdefault("ROADBED_PUBLIC_ORIGIN", f"http://{host}:{port}")
    specs = list(SERVICES.values())
    _migrate(specs)
    marker = first_start_marker()
    if seed_data and not marker.exists():
        _seed(specs)
        marker.touch()

    table = Table(title=f"Roadbed on http://{host}:{port}", show_lines=False)
    table.add_column("service")
    table.add_column("docs")
    table.add_column("health")
    for spec in MOUNTED:
        table.add_row(
            spec.name, f"http://{host}:{port}{spec.prefix}/docs", f"{spec.prefix}/healthz"
        )
    console.print(table)
    console.print("Press Ctrl-C to stop.")
    uvicorn.run(
        "roadbed.embedded:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}.")],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "0.0.0.0",  # noqa: S104 - a container listens on all interfaces
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (one per core).")] = 1,
    threads: Annotated[
        int, typer.Option(help="Blocking threads per worker (WSGI services, DB-bound).")
    ] = 4,
    backpressure: Annotated[
        int | None, typer.Option(help="Max concurrent requests per worker (ASGI; ~DB pool size).")
    ] = None,
) -> None:
    """Run one service alone, configured from the environment (the production entry point)."""
    from granian.constants import Interfaces
    from granian.server import Server

    spec = _selected(service)[0]
    interface = Interfaces.WSGI if spec.interface is Interface.WSGI else Interfaces.ASGI
    # Worker processes build the app from this (roadbed.production reads it).
    os.environ["ROADBED_SERVE_SERVICE"] = spec.name
    Server(
        "roadbed.production:create_wsgi_app"
        if spec.interface is Interface.WSGI
        else "roadbed.production:create_asgi_app",
        address=host,
        port=port,
        interface=interface,
        factory=True,
        workers=workers,
        blocking_threads=threads if spec.interface is Interface.WSGI else None,
        backpressure=backpressure,
        log_dictconfig=None,
    ).serve()


@app.command()
def relay(service: ServiceArg = None) -> None:
    """Publish committed outbox events to the bus (all services, or one) until stopped."""
    from roadbed.workers import RelayConfigurationError, run_relays

    # The worker consumes and publishes nothing: it has no outbox to relay.
    specs = [spec for spec in _selected(service) if spec.interface is not Interface.WORKER]
    try:
        asyncio.run(run_relays(specs))
    except RelayConfigurationError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None


@app.command()
def jobs(
    service: ServiceArg = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run each job a single time and exit (for a cron).")
    ] = False,
) -> None:
    """Run the services' periodic jobs (reservation expiry, scheduled publishing...) until stopped."""
    from roadbed.workers import run_jobs, run_jobs_once

    specs = [spec for spec in _selected(service) if spec.interface is not Interface.WORKER]
    if not once:
        asyncio.run(run_jobs(specs))
        return
    results = asyncio.run(run_jobs_once(specs))
    for name, succeeded in results.items():
        console.print(f"[green]done[/] {name}" if succeeded else f"[red]failed[/] {name}")
    if not all(results.values()):
        raise typer.Exit(code=1)


@app.command()
def worker(
    host: Annotated[
        str, typer.Option(help="Interface for /healthz, /readyz, /metrics.")
    ] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="Port for the health endpoints.")] = 8000,
) -> None:
    """Run the notify worker (consumes events, sends email and webhooks) with its health endpoints."""
    serve("notify", host=host, port=port, workers=1, threads=1, backpressure=None)


auth_app = typer.Typer(help="Operate the auth service.", no_args_is_help=True)
app.add_typer(auth_app, name="auth")


@auth_app.command("rotate-keys")
def rotate_keys(
    algorithm: Annotated[
        list[str] | None,
        typer.Option(
            "--algorithm", "-a", help="Rotate only this algorithm (repeatable): RS256, ES256."
        ),
    ] = None,
) -> None:
    """Start a signing-key rotation: new keys are published now and sign after the overlap."""
    from roadbed_auth.base import signing_keys
    from roadbed_auth.config import get_settings
    from roadbed_auth.keys.cli import rotate_keys as run_rotation
    from roadbed_auth.keys.factory import key_service_from_settings

    settings = get_settings()
    try:
        run_rotation(
            database_url=settings.database,
            service=key_service_from_settings(settings, table=signing_keys),
            algorithms=algorithm,
        )
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None


def main() -> None:
    app()
