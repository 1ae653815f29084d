"""With a shared cache, polled summaries come from it until a write changes the topic."""

import pytest

from discussions import services
from tests.support.factories import make_reply

pytestmark = pytest.mark.django_db

URL = "/api/topics/sora-leak/summary/"


@pytest.fixture
def cached(settings):
    settings.SUMMARY_CACHE_SECONDS = 60


def test_a_repeated_summary_is_served_from_the_cache(cached, reply, anon, django_assert_num_queries):
    first = anon.get(URL).json()
    # 1 the topic's stances with the topic (to find it and its cache key); the summary itself from the cache
    with django_assert_num_queries(1):
        again = anon.get(URL).json()
    assert again == first


def test_every_kind_of_write_retires_the_cached_summary(
    cached, topic, thread, reply, author, other, anon, django_capture_on_commit_callbacks
):
    anon.get(URL)
    thread_url = f"/api/threads/{thread.pk}/summary/"
    anon.get(thread_url)

    def after(write):
        with django_capture_on_commit_callbacks(execute=True):
            write()
        return anon.get(URL).json(), anon.get(thread_url).json()

    summary, thread_summary = after(lambda: services.vote_cast(actor=author, reply_id=reply.pk, value=1))
    assert summary["stances"][1]["upvotes"] == thread_summary["stances"][1]["upvotes"] == 1

    summary, _ = after(lambda: make_reply(thread=thread, author=author, stance="pro-tester", body="More."))
    assert summary["replies"] == 3

    summary, _ = after(lambda: services.reply_update(actor=other, reply_id=reply.pk, body="Edited for the cache."))
    assert summary["top_replies"]["pro-openai"][0]["body"] == "Edited for the cache."

    summary, _ = after(lambda: services.position_set(actor=other, topic_slug="sora-leak", stance_slug="pro-openai"))
    assert summary["stances"][1]["positions"] == 1

    summary, _ = after(lambda: services.reply_withdraw(actor=other, reply_id=reply.pk))
    assert summary["stances"][1]["replies"] == 0


def test_without_a_shared_cache_nothing_is_cached(settings, reply, anon, django_assert_num_queries):
    settings.SUMMARY_CACHE_SECONDS = 0
    anon.get(URL)
    # 1 the topic's stances with the topic and their tallies, 1 every reply shown (one UNION ALL): computed again
    with django_assert_num_queries(2):
        anon.get(URL)


def test_two_processes_sharing_redis_see_one_version(settings, monkeypatch, reply):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/14",
            "KEY_PREFIX": f"test-summary-{reply.pk}",
        }
    }
    settings.SUMMARY_CACHE_SECONDS = 60
    worker_a, worker_b = caches.create_connection("default"), caches.create_connection("default")
    from discussions import summary_cache

    try:
        monkeypatch.setattr(summary_cache, "cache", worker_a)
        computed = summary_cache.summary_cached(topic_id=reply.topic_id, name="t", compute=lambda: "v1")
        monkeypatch.setattr(summary_cache, "cache", worker_b)
        seen_by_b = summary_cache.summary_cached(topic_id=reply.topic_id, name="t", compute=lambda: "other")
        worker_a.set(f"summary-version:{reply.topic_id}", "bumped", None)  # a write committed on worker A
        after_bump = summary_cache.summary_cached(topic_id=reply.topic_id, name="t", compute=lambda: "v2")
    finally:
        worker_a.clear()
    assert (computed, seen_by_b, after_bump) == ("v1", "v1", "v2")
