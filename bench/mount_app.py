"""The composition variants the mounting benchmark serves (``BENCH_MOUNT`` picks one).

- ``a2wsgi``: Django and Flask as WSGI apps behind a2wsgi (what ``roadbed up`` does);
- ``native-asgi``: Django behind its own ASGI handler, Flask behind asgiref's WsgiToAsgi.
A bare ASGI JSON endpoint at ``/bare`` is the baseline in both.
"""

from __future__ import annotations

import os
from typing import Any

# The benchmark runner migrates a fresh ROADBED_VAR_DIR before it starts this app.
os.environ.setdefault("ROADBED_LOG_LEVEL", "WARNING")
os.environ.setdefault("ROADBED_BLOG_LOG_LEVEL", "WARNING")
os.environ.setdefault("ROADBED_TASKS_LOG_LEVEL", "WARNING")


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The cheapest possible ASGI JSON endpoint."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})


def create_app() -> Any:
    from a2wsgi import WSGIMiddleware
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from roadbed_tasks.app import create_app as create_tasks

    variant = os.environ.get("BENCH_MOUNT", "a2wsgi")
    tasks = create_tasks()
    if variant == "a2wsgi":
        from roadbed_blog.wsgi import application as blog_wsgi

        blog: Any = WSGIMiddleware(blog_wsgi, workers=8)
        tasks_app: Any = WSGIMiddleware(tasks, workers=8)
    elif variant == "native-asgi":
        from asgiref.wsgi import WsgiToAsgi
        from django.core.handlers.asgi import ASGIHandler

        from roadbed_blog.lifecycle import setup_django

        setup_django()
        blog = ASGIHandler()
        tasks_app = WsgiToAsgi(tasks)
    else:
        raise SystemExit(f"unknown BENCH_MOUNT {variant!r}")
    return Starlette(
        routes=[Mount("/bare", app=bare), Mount("/blog", app=blog), Mount("/tasks", app=tasks_app)]
    )
