"""The catalogue of Roadbed's services: where each one mounts and how it is run, migrated and seeded.

This package is the only code that imports every service. Imports happen lazily, inside the
functions, so ``roadbed serve blog`` never loads FastAPI and ``roadbed serve auth`` never loads Django.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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
    #: Module holding ``migrate()`` and ``seed()``.
    lifecycle: str
    #: Whether ``app`` names a factory to call (``True``) or a ready application object.
    factory: bool = True

    def load_app(self) -> Any:
        module_name, _, attribute = self.app.partition(":")
        target = getattr(importlib.import_module(module_name), attribute)
        return target() if self.factory else target

    def _lifecycle(self, name: str) -> Callable[[], Any]:
        function: Callable[[], Any] = getattr(importlib.import_module(self.lifecycle), name)
        return function

    def migrate(self) -> None:
        self._lifecycle("migrate")()

    def seed(self) -> list[str]:
        """Run the demo seeder (idempotent); returns one line per thing it created."""
        created: list[str] = self._lifecycle("seed")()
        return created


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec("auth", "/auth", Interface.ASGI, "roadbed_auth.app:create_app", "roadbed_auth.lifecycle"),
        ServiceSpec("shop", "/shop", Interface.ASGI, "roadbed_shop.app:create_app", "roadbed_shop.lifecycle"),
        ServiceSpec(
            "blog", "/blog", Interface.WSGI, "roadbed_blog.wsgi:application", "roadbed_blog.lifecycle", factory=False
        ),
        ServiceSpec("tasks", "/tasks", Interface.WSGI, "roadbed_tasks.app:create_app", "roadbed_tasks.lifecycle"),
        ServiceSpec("notify", None, Interface.WORKER, "roadbed_notify.app:create_app", "roadbed_notify.lifecycle"),
    )
}

MOUNTED = [spec for spec in SERVICES.values() if spec.prefix is not None]


def get_service(name: str) -> ServiceSpec:
    try:
        return SERVICES[name]
    except KeyError:
        known = ", ".join(SERVICES)
        raise KeyError(f"unknown service {name!r} (known: {known})") from None
