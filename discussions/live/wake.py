"""Telling every node's streams that the outbox grew, once a write commits.

With REDIS_URL a message on one pub/sub channel; on PostgreSQL without Redis a NOTIFY; on SQLite nothing
(each node polls the outbox). The message carries no data: a hub reads the outbox itself, so a lost
message delays an event by at most one poll and never loses it. A failing Redis is skipped for COOLDOWN
seconds, so a write never waits on it twice.
"""

import logging
import time

import redis
from django.conf import settings
from django.db import connection, transaction

from forum.rawsql import prepared_cursor

log = logging.getLogger(__name__)

CHANNEL = "discussions-events"
COOLDOWN = 5.0
_TIMEOUT = 0.25  # seconds; a stalled Redis costs a write at most this, then is skipped

_client = None
_down_until = 0.0


def _redis():
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT, health_check_interval=30
        )
    return _client


def _publish() -> None:
    global _down_until
    if settings.REDIS_URL:
        if time.monotonic() < _down_until:
            return
        try:
            _redis().publish(CHANNEL, b"")
        except (redis.RedisError, OSError) as exc:
            _down_until = time.monotonic() + COOLDOWN
            log.warning("live: Redis publish failed (%s); streams poll the outbox for %.0f s", exc, COOLDOWN)
    elif connection.vendor == "postgresql":
        try:
            with prepared_cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
        except Exception:  # the write has committed; a lost wake-up only waits for the next poll
            log.warning("live: NOTIFY failed; streams poll the outbox", exc_info=True)


def outbox_grown() -> None:
    """Wake the streams once the current transaction commits (nothing if it rolls back); once per commit."""
    if not any(callback is _publish for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(_publish)
