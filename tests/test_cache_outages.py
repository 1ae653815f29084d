"""Redis refused, killed or stalled while people post and vote: every write is acknowledged and kept.

Each test runs a Redis server of its own, on its own port (never the shared one), and points the cache at
it the way production does (config.cache.ResilientRedisCache, short socket timeouts).
"""

import os
import signal
import threading

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from discussions.audit import tallies_audit
from discussions.models import Reply, Vote
from tests.support.clients import client_for
from tests.support.factories import TopicFactory, UserFactory, make_reply, make_thread
from tests.support.redis import free_port, redis_running
from tests.support.threads import run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

WRITERS = 4
ROUNDS = 8  # each round: one reply posted, one vote cast


@pytest.fixture
def redis_server():
    """A throwaway redis-server on a free port; yields its process and port, killed at the end."""
    with redis_running() as (process, port):
        yield process, port


def point_cache_at(settings, port: int) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
            },
        }
    }
    settings.SUMMARY_CACHE_SECONDS = 60  # the deployed configuration: summaries cached in Redis


@pytest.fixture
def debate():
    topic = TopicFactory(slug="sora-leak")  # beside conftest's rival topic
    opener = UserFactory(username="opener")
    thread = make_thread(topic=topic, author=opener)
    targets = [make_reply(thread=thread, author=opener, body=f"Target {i}.") for i in range(WRITERS * ROUNDS)]
    writers = [UserFactory(username=f"writer{i}") for i in range(WRITERS)]
    return thread, targets, writers


def write_through(thread, targets, writers, *, midway=None):
    """Each writer posts and votes ROUNDS times through the API; returns every answer as (kind, status, body)."""
    answers, lock = [], threading.Lock()
    halfway = threading.Barrier(len(writers), action=midway) if midway else None

    def work(index, writer):
        client = client_for(writer)
        for n in range(ROUNDS):
            if halfway is not None and n == ROUNDS // 2:
                halfway.wait()
            posted = client.post(
                "/api/replies/", {"thread": thread.pk, "body": f"{writer} #{n}", "stance": "pro-tester"}, format="json"
            )
            voted = client.post(f"/api/replies/{targets[index * ROUNDS + n].pk}/vote/", {"value": 1}, format="json")
            with lock:
                answers.append(("reply", posted.status_code, posted.json()))
                answers.append(("vote", voted.status_code, voted.json()))

    run_in_threads(work, list(enumerate(writers)))
    return answers


def assert_every_write_acknowledged_and_kept(answers, thread, targets):
    statuses = sorted({status for _, status, _ in answers})
    assert statuses == [200, 201], [a for a in answers if a[1] >= 300][:3]
    posted = {body["id"] for kind, _, body in answers if kind == "reply"}
    assert len(posted) == WRITERS * ROUNDS
    assert set(Reply.objects.filter(pk__in=posted).values_list("pk", flat=True)) == posted
    voted = {body["reply"] for kind, _, body in answers if kind == "vote"}
    assert Vote.objects.filter(reply_id__in=voted, value=1, retracted_at=None).count() == WRITERS * ROUNDS
    assert tallies_audit() == []


def test_redis_refused_from_the_start(settings, debate):
    point_cache_at(settings, free_port())  # nothing listens there

    answers = write_through(*debate)

    assert_every_write_acknowledged_and_kept(answers, debate[0], debate[1])
    assert APIClient().get("/api/health/").json()["cache"] == "degraded"
    assert APIClient().get("/api/topics/sora-leak/summary/").json()["replies"] == 1 + WRITERS * ROUNDS * 2


def test_redis_killed_in_the_middle(settings, debate, redis_server):
    process, port = redis_server
    point_cache_at(settings, port)
    assert cache.reachable()

    answers = write_through(*debate, midway=process.kill)

    assert process.wait(timeout=10) is not None
    assert_every_write_acknowledged_and_kept(answers, debate[0], debate[1])
    assert not cache.reachable()


def test_redis_stalled_in_the_middle(settings, debate, redis_server):
    process, port = redis_server
    point_cache_at(settings, port)

    # SIGSTOP: the socket still accepts, nothing answers; each call waits at most the socket timeout, once.
    answers = write_through(*debate, midway=lambda: os.kill(process.pid, signal.SIGSTOP))

    assert_every_write_acknowledged_and_kept(answers, debate[0], debate[1])
    os.kill(process.pid, signal.SIGCONT)


def test_a_failure_opens_the_breaker_and_local_memory_stands_in(settings):
    point_cache_at(settings, free_port())

    cache.set("k", "v", 30)  # fails over to local memory, and trips the breaker

    assert cache.degraded
    assert cache.get("k") == "v"
    assert cache.add("counter", 0, 30) and cache.incr("counter") == 1


def test_the_summary_cache_comes_back_with_redis(settings, debate, redis_server):
    process, port = redis_server
    point_cache_at(settings, port)
    anon = APIClient()

    first = anon.get("/api/topics/sora-leak/summary/").json()
    client_for(debate[2][0]).post(
        "/api/replies/",
        {"thread": debate[0].pk, "body": "After the first read.", "stance": "pro-openai"},
        format="json",
    )

    # Cached in Redis, and retired by the write's invalidation.
    assert anon.get("/api/topics/sora-leak/summary/").json()["replies"] == first["replies"] + 1
