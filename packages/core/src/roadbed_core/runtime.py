"""What a service process holds: its database engine, cache, health checks and event bus.

One place builds these from a service's settings so auth, shop, tasks and notify are wired alike:
the embedded defaults (SQLite file, process-wide in-memory cache, in-process bus) or the production
ones (PostgreSQL, Redis, RabbitMQ) depending only on the settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from roadbed_core.cache import AsyncCache, AsyncRedisCache, async_cache_from_url
from roadbed_core.db import make_async_engine, make_async_sessionmaker
from roadbed_core.events.bus import EventBus
from roadbed_core.events.inprocess import InProcessBus
from roadbed_core.health import (
    HealthRegistry,
    amqp_check,
    async_cache_check,
    sqlalchemy_async_check,
)
from roadbed_core.integrations.fastapi import install
from roadbed_core.logs import configure_logging
from roadbed_core.settings import ServiceSettings

_in_process_bus: InProcessBus | None = None


def shared_in_process_bus() -> InProcessBus:
    """The one in-process bus of this process: every embedded service publishes and consumes on it."""
    global _in_process_bus
    if _in_process_bus is None:
        _in_process_bus = InProcessBus()
    return _in_process_bus


def bus_from_settings(settings: ServiceSettings, **rabbitmq_options: Any) -> EventBus:
    """RabbitMQ when ``amqp_url`` is set, otherwise the process-wide in-process bus."""
    if settings.amqp_url is None:
        return shared_in_process_bus()
    from roadbed_core.events.rabbitmq import RabbitMQBus

    return RabbitMQBus(settings.amqp_url, exchange=settings.amqp_exchange, **rabbitmq_options)


def configure_service_logging(settings: ServiceSettings) -> None:
    configure_logging(json=settings.json_logs, level=settings.log_level)


@dataclass(frozen=True, slots=True)
class AsyncResources:
    """The I/O handles of an asyncio service, built once per app."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cache: AsyncCache
    health: HealthRegistry

    async def aclose(self) -> None:
        await self.engine.dispose()
        # Redis holds a connection pool; the in-process cache has nothing to close.
        if isinstance(self.cache, AsyncRedisCache):
            await self.cache.aclose()


def async_resources(settings: ServiceSettings) -> AsyncResources:
    """Engine, session factory, cache and the standard readiness checks for ``settings``."""
    engine = make_async_engine(settings.database)
    cache = async_cache_from_url(settings.cache_url)
    health = HealthRegistry(settings.service_name)
    health.add("database", sqlalchemy_async_check(engine))
    health.add("cache", async_cache_check(cache))
    if settings.amqp_url is not None:
        health.add("broker", amqp_check(settings.amqp_url))
    return AsyncResources(
        engine=engine, sessions=make_async_sessionmaker(engine), cache=cache, health=health
    )


def create_fastapi_service(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    version: str = "0.1.0",
    routers: Iterable[APIRouter] = (),
    extra_lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """A FastAPI service with logging, problem+json errors, metrics, health and its resources.

    The resources live on ``app.state.resources``; the settings on ``app.state.settings``.
    """
    configure_service_logging(settings)
    resources = async_resources(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(resources.aclose)
            if extra_lifespan is not None:
                await stack.enter_async_context(extra_lifespan(app))
            yield

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.resources = resources
    for router in routers:
        app.include_router(router)
    install(app, service=settings.service_name, health=resources.health)
    return app
