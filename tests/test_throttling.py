"""Floods meet scoped throttles: past the rate a client gets 429 with Retry-After, and only that client.

The suite's settings raise every rate out of reach; these tests set low ones. DRF's SimpleRateThrottle
copies DEFAULT_THROTTLE_RATES into a class attribute when it is imported, so changing the setting alone
would not reach it: the `rates` fixture changes both, and both come back when the test ends.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from discussions.models import Flag, Position, Reply, Thread, Vote
from tests.support.clients import client_for
from tests.support.factories import PASSWORD, make_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings, monkeypatch):
    """set_rates(vote="3/minute", ...): lower the named scopes for this test only."""

    def set_rates(**scopes):
        new = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **scopes}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": new}
        api_settings.reload()  # the settings signal does this too; harmless to be sure
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", new)

    return set_rates


def throttled(response):
    """A 429 a client can act on: JSON `detail` and a Retry-After within the rate's period."""
    assert response.status_code == 429, f"{response.status_code}: {response.content[:300]!r}"
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    retry_after = int(response["Retry-After"])
    assert retry_after > 0
    return retry_after


# --- floods, one scope at a time -----------------------------------------------------------------


def test_a_flood_of_registrations_from_one_address_is_throttled(rates, anon):
    rates(register="3/minute")
    for n in range(3):
        response = anon.post(
            "/api/auth/register/", {"username": f"new{n}", "password": "Tr1cky-Sora-Leak"}, format="json"
        )
        assert response.status_code == 201, response.content

    refused = anon.post("/api/auth/register/", {"username": "new3", "password": "Tr1cky-Sora-Leak"}, format="json")

    assert throttled(refused) <= 60
    assert not get_user_model().objects.filter(username="new3").exists()
    # Registration is anonymous, so the throttle is per address: another one still gets in.
    elsewhere = anon.post(
        "/api/auth/register/",
        {"username": "new4", "password": "Tr1cky-Sora-Leak"},
        format="json",
        REMOTE_ADDR="203.0.113.9",
    )
    assert elsewhere.status_code == 201, elsewhere.content


def test_a_flood_of_token_requests_from_one_address_is_throttled(rates, anon, author, other):
    rates(login="3/minute")
    for _ in range(3):
        assert (
            anon.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").status_code == 200
        )

    refused = anon.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")

    throttled(refused)
    elsewhere = anon.post(
        "/api/auth/token/", {"username": "bob", "password": PASSWORD}, format="json", REMOTE_ADDR="203.0.113.9"
    )
    assert elsewhere.status_code == 200, elsewhere.content


def post_thread(client, n):
    payload = {"topic": "sora-leak", "title": f"Thread {n}", "body": "Opening.", "stance": "pro-tester"}
    return client.post("/api/threads/", payload, format="json")


def test_a_flood_of_threads_is_throttled_per_user(rates, topic, as_author, as_other):
    rates(post="2/minute")
    assert [post_thread(as_author, n).status_code for n in range(2)] == [201, 201]

    refused = post_thread(as_author, 2)

    throttled(refused)
    assert not Thread.objects.filter(title="Thread 2").exists()
    assert post_thread(as_other, 3).status_code == 201  # bob's allowance is his own
    assert as_author.get("/api/threads/").status_code == 200  # reading is never throttled


def test_a_flood_of_replies_is_throttled_per_user_and_edits_count_too(rates, thread, as_author, as_other):
    rates(post="2/minute")

    def post_reply(client, body):
        return client.post("/api/replies/", {"thread": thread.pk, "body": body, "stance": "pro-openai"}, format="json")

    first = post_reply(as_other, "one")
    assert first.status_code == 201
    assert post_reply(as_other, "two").status_code == 201

    throttled(post_reply(as_other, "three"))
    # An edit is a post under the same scope: a flood cannot switch to rewriting instead.
    throttled(as_other.patch(f"/api/replies/{first.json()['id']}/", {"body": "rewritten"}, format="json"))
    assert not Reply.objects.filter(body__in=["three", "rewritten"]).exists()
    assert post_reply(as_author, "alice's own").status_code == 201


def test_a_flood_of_votes_is_throttled_per_user(rates, thread, author, other, as_author, as_other):
    rates(vote="3/minute")
    replies = [make_reply(thread=thread, author=other, body=f"r{n}") for n in range(4)]
    for reply in replies[:3]:
        assert as_author.post(f"/api/replies/{reply.pk}/vote/", {"value": 1}, format="json").status_code == 200

    throttled(as_author.post(f"/api/replies/{replies[3].pk}/vote/", {"value": 1}, format="json"))
    throttled(as_author.delete(f"/api/replies/{replies[0].pk}/vote/"))  # retracting is voting too

    assert Vote.objects.filter(user=author, retracted_at=None).count() == 3
    assert as_other.post(f"/api/replies/{replies[3].pk}/vote/", {"value": -1}, format="json").status_code == 200


def test_a_flood_of_flags_is_throttled_per_user(rates, thread, other, as_author, as_other):
    rates(flag="2/minute")
    replies = [make_reply(thread=thread, author=other, body=f"r{n}") for n in range(3)]
    for reply in replies[:2]:
        assert as_author.post(f"/api/replies/{reply.pk}/flag/", {"reason": "spam"}, format="json").status_code == 201

    throttled(as_author.post(f"/api/replies/{replies[2].pk}/flag/", {"reason": "spam"}, format="json"))

    assert Flag.objects.count() == 2
    assert as_other.post(f"/api/replies/{replies[2].pk}/flag/", {"reason": "spam"}, format="json").status_code == 201


def test_a_flood_of_position_changes_is_throttled_per_user(rates, topic, author, as_author, as_other):
    rates(position="2/minute")
    for stance in ("pro-tester", "pro-openai"):
        response = as_author.put("/api/topics/sora-leak/position/", {"stance": stance}, format="json")
        assert response.status_code == 200, response.content

    throttled(as_author.put("/api/topics/sora-leak/position/", {"stance": "pro-tester"}, format="json"))

    assert Position.objects.filter(user=author).count() == 2
    assert as_other.put("/api/topics/sora-leak/position/", {"stance": "pro-tester"}, format="json").status_code == 200


def test_the_defaults_are_rates_a_real_forum_would_pick():
    # The production defaults (base settings), not the suite's raised ones.
    from config.settings import base

    assert base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "register": "10/hour",
        "login": "30/hour",
        "post": "30/hour",
        "vote": "300/hour",
        "flag": "30/hour",
        "position": "60/hour",
        "search": "120/minute",
    }


# --- counters shared through Redis ---------------------------------------------------------------


def test_two_cache_clients_share_the_throttle_history(redis_cache, rates, monkeypatch, thread, other, author):
    # Two workers each build their own cache client from the same settings; the flood is split across them.
    server, prefix = redis_cache
    rates(vote="3/minute")
    worker_a, worker_b = caches.create_connection("default"), caches.create_connection("default")
    assert worker_a is not worker_b
    replies = [make_reply(thread=thread, author=other, body=f"r{n}") for n in range(5)]
    as_author, as_other = client_for(author), client_for(other)

    monkeypatch.setattr(ScopedRateThrottle, "cache", worker_a)
    for reply in replies[:3]:
        assert as_author.post(f"/api/replies/{reply.pk}/vote/", {"value": 1}, format="json").status_code == 200

    # The history lives in Redis, not in worker A's memory.
    key = f"throttle_vote_{author.pk}"
    assert server.exists(f"{prefix}:1:{key}")
    assert len(worker_b.get(key)) == 3

    monkeypatch.setattr(ScopedRateThrottle, "cache", worker_b)
    throttled(as_author.post(f"/api/replies/{replies[3].pk}/vote/", {"value": 1}, format="json"))
    # Worker B keeps its own counter for bob, who has not voted yet.
    assert as_other.post(f"/api/replies/{replies[4].pk}/vote/", {"value": 1}, format="json").status_code == 200
    assert Vote.objects.filter(user=author).count() == 3


def test_the_default_cache_is_redis_when_configured(redis_cache, rates, topic, as_author):
    # Without monkeypatching: the throttle's own cache (django.core.cache.cache) follows the settings.
    server, prefix = redis_cache
    rates(position="1/minute")

    assert as_author.put("/api/topics/sora-leak/position/", {"stance": "pro-tester"}, format="json").status_code == 200
    throttled(as_author.put("/api/topics/sora-leak/position/", {"stance": "pro-openai"}, format="json"))
    assert list(server.scan_iter(match=f"{prefix}:1:throttle_position_*"))
