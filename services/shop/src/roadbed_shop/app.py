"""The shop service's ASGI application."""

from __future__ import annotations

from fastapi import FastAPI

from roadbed_core.runtime import create_fastapi_service
from roadbed_shop.config import ShopSettings, get_settings


def create_app(settings: ShopSettings | None = None) -> FastAPI:
    """Build the shop app (catalog, inventory, cart, checkout, payments, orders)."""
    return create_fastapi_service(
        settings or get_settings(),
        title="Roadbed shop",
        description="E-commerce: catalog, inventory that never oversells, cart, checkout, "
        "payments with idempotency keys and signed webhooks, orders. REST under /v1, GraphQL at /graphql.",
    )
