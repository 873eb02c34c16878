"""The tasks service's WSGI application (Flask app factory)."""

from __future__ import annotations

from apiflask import APIFlask

from roadbed_core.cache import cache_from_url
from roadbed_core.db import apply_sqlite_pragmas, ensure_sqlite_directory, sync_url
from roadbed_core.health import HealthRegistry, amqp_check, cache_check, sqlalchemy_check
from roadbed_core.integrations.flask import install
from roadbed_core.logs import configure_logging
from roadbed_tasks.config import TasksSettings, get_settings
from roadbed_tasks.extensions import db


def create_app(settings: TasksSettings | None = None) -> APIFlask:
    """Build the tasks app: projects, members, tasks, comments (OpenAPI at /openapi.json)."""
    settings = settings or get_settings()
    configure_logging(json=settings.json_logs, level=settings.log_level)

    app = APIFlask(
        __name__,
        title="Roadbed tasks",
        version="0.1.0",
        spec_path="/openapi.json",
        docs_path="/docs",
    )
    app.config.update(
        SQLALCHEMY_DATABASE_URI=sync_url(settings.database).render_as_string(hide_password=False),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": not settings.database.startswith("sqlite")},
        SECRET_KEY=settings.secret_key.get_secret_value(),
        JSON_SORT_KEYS=False,
        DESCRIPTION="Task management: projects, members, tasks, comments, optimistic concurrency, "
        "filters and cursor pages.",
    )
    app.extensions["roadbed_settings"] = settings
    ensure_sqlite_directory(settings.database)
    db.init_app(app)

    health = HealthRegistry(settings.service_name)
    with app.app_context():
        engine = db.engine
        apply_sqlite_pragmas(engine)
    health.add("database", sqlalchemy_check(engine))
    health.add("cache", cache_check(cache_from_url(settings.cache_url)))
    if settings.amqp_url is not None:
        health.add("broker", amqp_check(settings.amqp_url))
    install(app, service=settings.service_name, health=health)
    return app
