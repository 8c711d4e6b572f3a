"""Where the rate limits count: one shared Redis for every worker when configured.

In memory, each worker process counts on its own, so with N workers a limit of 10
login attempts a minute was really 10 * N. With `EVENTS_REDIS_URL` every named
store (one per limiter) is a namespace in that Redis, shared by all processes and
hosts; without it, development keeps Litestar's in-memory stores.
"""

from __future__ import annotations

from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry

from events_service.settings import Settings

NAMESPACE = "events"


def store_registry(settings: Settings) -> StoreRegistry:
    if not settings.redis_url:
        return StoreRegistry()
    shared = RedisStore.with_client(url=settings.redis_url, namespace=NAMESPACE)
    return StoreRegistry(default_factory=shared.with_namespace)
