"""App factories for ``roadbed serve``: one service, under its public prefix, as nginx forwards it.

The CLI names the service in ``ROADBED_SERVE_SERVICE`` before granian starts its workers; each
worker calls the factory for its interface.
"""

from __future__ import annotations

import os
from typing import Any

from roadbed.services import Interface, ServiceSpec, get_service
from roadbed_core.integrations.prefix import PrefixedASGI, PrefixedWSGI


def _served(interface: Interface) -> ServiceSpec:
    spec = get_service(os.environ["ROADBED_SERVE_SERVICE"])
    if (spec.interface is Interface.WSGI) != (interface is Interface.WSGI):
        raise RuntimeError(f"{spec.name} is not a {interface.value} service")
    return spec


def create_asgi_app() -> Any:
    spec = _served(Interface.ASGI)
    app = spec.load_app()
    return PrefixedASGI(app, spec.prefix) if spec.prefix else app


def create_wsgi_app() -> Any:
    spec = _served(Interface.WSGI)
    app = spec.load_app()
    return PrefixedWSGI(app, spec.prefix) if spec.prefix else app
