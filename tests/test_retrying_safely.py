"""Clients retry creating requests with an Idempotency-Key: the first answer comes back, nothing is written twice."""

import datetime

import pytest
from django.db import OperationalError
from django.utils import timezone

from discussions import selectors
from discussions.models import Flag, Position, Reply, Thread, Vote
from forum.models import IdempotencyKey
from tests.support.clients import client_for
from tests.support.threads import run_in_threads

pytestmark = pytest.mark.django_db


def post(client, path, body, key, method="post"):
    return getattr(client, method)(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def reply_body(thread, text="Retried over a flaky link."):
    return {"thread": thread.pk, "body": text, "stance": "pro-tester"}


def test_a_retried_reply_is_written_once_and_answered_the_same(as_author, thread):
    first = post(as_author, "/api/replies/", reply_body(thread), "3f1c-retry-1")
    again = post(as_author, "/api/replies/", reply_body(thread), "3f1c-retry-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Reply.objects.filter(body="Retried over a flaky link.").count() == 1


@pytest.mark.parametrize(
    "path, body, method, model",
    [
        (
            "/api/threads/",
            {"topic": "sora-leak", "title": "Again?", "body": "Once.", "stance": "pro-openai"},
            "post",
            Thread,
        ),
        ("/api/replies/{reply}/vote/", {"value": 1}, "post", Vote),
        ("/api/replies/{reply}/flag/", {"reason": "spam"}, "post", Flag),
        ("/api/topics/sora-leak/position/", {"stance": "pro-openai"}, "put", Position),
    ],
    ids=["thread", "vote", "flag", "position"],
)
def test_every_creating_request_takes_a_key(as_author, reply, path, body, method, model):
    path = path.format(reply=reply.pk)
    before = model.objects.count()

    first = post(as_author, path, body, "k-1", method)
    again = post(as_author, path, body, "k-1", method)

    assert first.status_code < 300, first.content
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert model.objects.count() == before + 1


def test_the_same_key_with_another_body_is_a_409_and_writes_nothing(as_author, thread):
    post(as_author, "/api/replies/", reply_body(thread), "k-2")

    response = post(as_author, "/api/replies/", reply_body(thread, "Something else."), "k-2")

    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["detail"]
    assert not Reply.objects.filter(body="Something else.").exists()


def test_keys_are_each_callers_own(as_author, as_other, thread):
    post(as_author, "/api/replies/", reply_body(thread), "shared-key")
    response = post(as_other, "/api/replies/", reply_body(thread), "shared-key")

    assert response.status_code == 201
    assert Reply.objects.filter(body="Retried over a flaky link.").count() == 2


def test_a_key_lapses_after_a_day(as_author, thread):
    post(as_author, "/api/replies/", reply_body(thread), "k-3")
    IdempotencyKey.objects.update(created_at=timezone.now() - datetime.timedelta(hours=24, seconds=1))

    response = post(as_author, "/api/replies/", reply_body(thread), "k-3")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Reply.objects.filter(body="Retried over a flaky link.").count() == 2
    assert IdempotencyKey.objects.count() == 1  # the lapsed one made room


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "naïve"])
def test_a_malformed_key_is_a_400_naming_the_header(as_author, thread, key):
    response = post(as_author, "/api/replies/", reply_body(thread), key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Reply.objects.filter(body="Retried over a flaky link.").exists()


def test_a_lost_connection_building_the_answer_writes_nothing_and_the_retry_writes_once(as_author, thread, monkeypatch):
    # The answer is built (and stored under the key) inside the write's transaction: if that fails, the write
    # rolls back with it and the 503 is true; the client's retry with the same key then writes the reply, once.
    real = selectors.reply_written

    def lost(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "reply_written", lost)
    failed = post(as_author, "/api/replies/", reply_body(thread), "k-4")
    monkeypatch.setattr(selectors, "reply_written", real)
    retried = post(as_author, "/api/replies/", reply_body(thread), "k-4")

    assert failed.status_code == 503
    assert retried.status_code == 201
    assert Reply.objects.filter(body="Retried over a flaky link.").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_key_sent_twice_at_once_writes_once(topic, thread, author):
    clients = [client_for(author), client_for(author)]
    answers = []

    def send(client):
        answers.append(post(client, "/api/replies/", reply_body(thread), "k-race"))

    run_in_threads(send, [(c,) for c in clients])

    assert sorted(a.status_code for a in answers) == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert Reply.objects.filter(body="Retried over a flaky link.").count() == 1
