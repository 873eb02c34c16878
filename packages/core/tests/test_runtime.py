"""What a service process holds is released when its app shuts down."""

from __future__ import annotations

from pathlib import Path

import redis

from roadbed_core.runtime import async_resources
from roadbed_core.settings import ServiceSettings


def _client_count(url: str) -> int:
    with redis.Redis.from_url(url) as observer:
        # The observer's own connection is in the list too; it is the same before and after.
        return len(observer.client_list())


async def test_closing_the_resources_releases_the_redis_connections(
    redis_url: str, tmp_path: Path
) -> None:
    # given the resources of a service on Redis, with a connection in use
    settings = ServiceSettings(database_url=f"sqlite:///{tmp_path}/svc.db", cache_url=redis_url)
    resources = async_resources(settings)
    await resources.cache.set("roadbed:test:key", b"value")
    connected = _client_count(redis_url)

    # when they are closed
    await resources.aclose()

    # then the service's Redis connection is gone
    assert _client_count(redis_url) == connected - 1
