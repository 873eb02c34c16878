"""The catalogue of Roadbed's services: where each one mounts and how it is run, migrated and seeded.

This package is the only code that imports every service. Imports happen lazily, inside the
functions, so ``roadbed serve blog`` never loads FastAPI and ``roadbed serve auth`` never loads Django.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from roadbed_core.lifecycle import ServiceLifecycle


class Interface(StrEnum):
    ASGI = "asgi"
    WSGI = "wsgi"
    WORKER = "worker"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """How one service plugs into the CLI and the embedded composition."""

    name: str
    #: URL prefix on the shared origin; ``None`` for the worker, which serves no public API.
    prefix: str | None
    interface: Interface
    #: ``module:attribute`` of the app: a factory for ASGI/worker apps, the WSGI callable for WSGI.
    app: str
    #: ``module:attribute`` of the service's :class:`~roadbed_core.lifecycle.ServiceLifecycle`.
    lifecycle: str
    #: Whether ``app`` names a factory to call (``True``) or a ready application object.
    factory: bool = True

    def load_app(self) -> Any:
        target = _load(self.app)
        return target() if self.factory else target

    def load_lifecycle(self) -> ServiceLifecycle:
        lifecycle: ServiceLifecycle = _load(self.lifecycle)
        return lifecycle


def _load(reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec(
            "auth",
            "/auth",
            Interface.ASGI,
            "roadbed_auth.app:create_app",
            "roadbed_auth.lifecycle:lifecycle",
        ),
        ServiceSpec(
            "shop",
            "/shop",
            Interface.ASGI,
            "roadbed_shop.app:create_app",
            "roadbed_shop.lifecycle:lifecycle",
        ),
        ServiceSpec(
            "blog",
            "/blog",
            Interface.WSGI,
            "roadbed_blog.wsgi:application",
            "roadbed_blog.lifecycle:lifecycle",
            factory=False,
        ),
        ServiceSpec(
            "tasks",
            "/tasks",
            Interface.WSGI,
            "roadbed_tasks.app:create_app",
            "roadbed_tasks.lifecycle:lifecycle",
        ),
        ServiceSpec(
            "notify",
            None,
            Interface.WORKER,
            "roadbed_notify.app:create_app",
            "roadbed_notify.lifecycle:lifecycle",
        ),
    )
}

MOUNTED = [spec for spec in SERVICES.values() if spec.prefix is not None]


def get_service(name: str) -> ServiceSpec:
    try:
        return SERVICES[name]
    except KeyError:
        known = ", ".join(SERVICES)
        raise KeyError(f"unknown service {name!r} (known: {known})") from None
