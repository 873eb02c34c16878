"""The embedded composition: every service in one ASGI app on one port.

FastAPI services are mounted as they are. Django and Flask are WSGI apps mounted through a2wsgi,
which runs them in a thread pool: measured here that is ~10x faster than Django's own ASGI handler
(docs/architecture.md has the numbers). The lifespan runs every ASGI service's own lifespan, then
the event plane: notify's consumers on the in-process bus and one outbox relay per service, woken
by each commit so events flow at once; then every service's periodic jobs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, cast

from a2wsgi import WSGIMiddleware
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from roadbed.landing import render_landing
from roadbed.services import MOUNTED, SERVICES, Interface
from roadbed_core.events.inprocess import InProcessBus
from roadbed_core.jobs import job_plane
from roadbed_core.lifecycle import event_plane
from roadbed_core.logs import configure_logging
from roadbed_core.settings import ServiceSettings, var_dir

#: Threads a2wsgi gives each WSGI service (Django, Flask): requests block on SQLite and CPU.
WSGI_THREADS = 8


def first_start_marker() -> Path:
    """Exists once ``roadbed up`` has seeded this ``var/``."""
    directory = var_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return directory / ".seeded"


async def landing(_request: Request) -> HTMLResponse:
    return HTMLResponse(render_landing())


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse(
        {"status": "ok", "service": "roadbed", "mounted": [s.name for s in MOUNTED]}
    )


def create_app() -> Starlette:
    """Mount every service under its prefix and run the in-process event plane."""
    shared = ServiceSettings()
    configure_logging(json=shared.json_logs, level=shared.log_level)

    asgi_apps: list[Any] = []
    routes: list[Route | Mount] = [Route("/", landing), Route("/healthz", healthz)]
    for spec in MOUNTED:
        app = spec.load_app()
        if spec.interface is Interface.WSGI:
            bridged: ASGIApp = cast("ASGIApp", WSGIMiddleware(app, workers=WSGI_THREADS))
            routes.append(Mount(spec.prefix or "", app=bridged))
        else:
            asgi_apps.append(app)
            routes.append(Mount(spec.prefix or "", app=app))
    lifecycles = [spec.load_lifecycle() for spec in SERVICES.values()]

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            # Starlette does not run the lifespans of mounted apps: enter them here.
            for app in asgi_apps:
                await stack.enter_async_context(app.router.lifespan_context(app))
            await stack.enter_async_context(event_plane(lifecycles, InProcessBus()))
            await stack.enter_async_context(job_plane(lifecycles))
            yield

    return Starlette(routes=routes, lifespan=lifespan)
