"""Cached summaries, keyed by a per-topic version that every write affecting the topic replaces.

Only worth it with a cache every process shares (Redis): with per-process memory a write in one
worker could not retire another worker's copy, so SUMMARY_CACHE_SECONDS is 0 there and this is a
pass-through.
"""

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from discussions.selectors import topic_summary
from discussions.serializers import SummarySerializer

log = logging.getLogger(__name__)


def _version_key(topic_id: int) -> str:
    return f"summary-version:{topic_id}"


def _enabled() -> bool:
    return settings.SUMMARY_CACHE_SECONDS > 0


def summary_invalidate(topic_id: int) -> None:
    """Retire the topic's cached summaries once the current transaction commits."""
    if not _enabled():
        return

    def bump():
        try:
            # A fresh random version rather than a counter: an evicted counter restarting at 1 could
            # meet entries cached under the old 1.
            cache.set(_version_key(topic_id), uuid.uuid4().hex, None)
        except Exception:  # a cache outage must not fail the write that already committed
            log.exception("could not retire cached summaries of topic %s", topic_id)

    transaction.on_commit(bump)


def summary_cached(*, topic_id: int, name: str, compute):
    """`compute()` (returning something picklable), from the cache while the topic has not changed."""
    if not _enabled():
        return compute()
    try:
        version = cache.get(_version_key(topic_id))
        if version is None:
            version = uuid.uuid4().hex
            cache.add(_version_key(topic_id), version, None)
            version = cache.get(_version_key(topic_id), version)
        key = f"summary:{topic_id}:{version}:{name}"
        hit = cache.get(key)
    except Exception:
        log.exception("summary cache unavailable; computing")
        return compute()
    if hit is not None:
        return hit
    value = compute()
    try:
        cache.set(key, value, settings.SUMMARY_CACHE_SECONDS)
    except Exception:
        log.exception("could not cache the summary of topic %s", topic_id)
    return value


def topic_summary_json(*, topic) -> tuple[dict, object]:
    """The topic's summary as GET /api/topics/{slug}/summary/ answers it, and its last-modified time, cached."""

    def compute():
        summary, last_modified = topic_summary(topic=topic)
        return SummarySerializer(summary).data, last_modified

    return summary_cached(topic_id=topic.pk, name="topic", compute=compute)
