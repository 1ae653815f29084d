"""The shared cache (Redis) that degrades instead of failing: when Redis errs, this process's memory stands in.

Throttles, failed-login counts and cached summaries all go through Django's cache. With Redis refused,
stalled or gone, each call would raise (a 500 on every write) or wait for the socket timeout; here a
failed call trips a breaker, and for COOLDOWN seconds every call goes to a local in-memory cache without
touching the network. After the cool-down one call tries Redis again. While degraded, limits count per
process (a worker allows its own quota) and summaries are cached per process for at most their TTL, so a
stale one never outlives a missed invalidation by more than SUMMARY_CACHE_SECONDS.
"""

import logging
import time

from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# What a lost, refused or stalled Redis raises through django-redis (its ConnectionInterrupted unwraps to these).
_FAILURES = (RedisError, OSError)
COOLDOWN = 5.0


class ResilientRedisCache(RedisCache):
    """django-redis's cache, falling back to local memory while Redis fails (see the module's docstring)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._local = LocMemCache(f"fallback-{server}", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._down_until = 0.0

    @property
    def degraded(self) -> bool:
        """True while calls go to local memory after a failure."""
        return time.monotonic() < self._down_until

    def reachable(self) -> bool:
        """Ask Redis itself, breaker or not (for the health check)."""
        try:
            return bool(self.client.get_client(write=True).ping())
        except _FAILURES:
            return False

    def _either(self, name: str, *args, **kwargs):
        if not self.degraded:
            try:
                return getattr(super(), name)(*args, **kwargs)
            except _FAILURES as exc:
                log.warning(
                    "shared cache unavailable (%s: %s); this process counts alone for %.0f s",
                    type(exc).__name__,
                    exc,
                    COOLDOWN,
                )
                self._down_until = time.monotonic() + COOLDOWN
        return getattr(self._local, name)(*args, **kwargs)

    def get(self, *args, **kwargs):
        return self._either("get", *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._either("set", *args, **kwargs)

    def add(self, *args, **kwargs):
        return self._either("add", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._either("delete", *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._either("touch", *args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._either("incr", *args, **kwargs)

    def decr(self, *args, **kwargs):
        return self._either("decr", *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._either("has_key", *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._either("get_many", *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._either("set_many", *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._either("delete_many", *args, **kwargs)

    def clear(self):
        self._local.clear()
        return self._either("clear")
