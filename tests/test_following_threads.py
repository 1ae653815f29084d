"""A reader chooses how closely they follow a thread: watching, normal (everyone's start) or muted."""

import pytest

from discussions.models import ThreadSubscription
from tests.support.factories import make_reply, make_thread


def subscription(thread) -> str:
    return f"/api/threads/{thread.pk}/subscription/"


def test_without_a_choice_a_reader_is_normal(as_other, thread):
    response = as_other.get(subscription(thread))

    assert response.status_code == 200
    assert response.json() == {"thread": thread.pk, "level": "normal"}


def test_the_opener_watches_their_thread(as_author, thread):
    assert as_author.get(subscription(thread)).json() == {"thread": thread.pk, "level": "watching"}


@pytest.mark.parametrize("level", ["watching", "muted", "normal"])
def test_a_reader_chooses_a_level_and_reads_it_back(as_other, other, thread, level):
    response = as_other.put(subscription(thread), {"level": level}, format="json")

    assert response.status_code == 200
    assert response.json() == {"thread": thread.pk, "level": level}
    assert as_other.get(subscription(thread)).json()["level"] == level
    assert ThreadSubscription.objects.get(user=other, thread=thread).level == level


def test_choosing_again_changes_the_one_row(as_author, author, thread):
    as_author.put(subscription(thread), {"level": "muted"}, format="json")
    as_author.put(subscription(thread), {"level": "normal"}, format="json")

    assert list(ThreadSubscription.objects.filter(user=author, thread=thread).values_list("level", flat=True)) == [
        "normal"
    ]


def test_a_choice_is_per_reader_and_per_thread(as_other, author, thread, topic, rival_topic, other):
    # Same stance slugs in the rival topic; its thread keeps its own level.
    elsewhere = make_thread(topic=rival_topic, author=author, stance="pro-openai")
    as_other.put(subscription(thread), {"level": "muted"}, format="json")

    assert as_other.get(subscription(elsewhere)).json()["level"] == "normal"
    assert ThreadSubscription.objects.get(user=author, thread=thread).level == "watching"


def test_a_muted_thread_sends_its_reader_nothing(as_other, other, thread):
    as_other.put(subscription(thread), {"level": "muted"}, format="json")
    make_reply(thread=thread, author=thread.author, parent=None, body="@bob, over to you.")

    assert as_other.get("/api/notifications/unread-count/").json() == {"count": 0}


def test_a_watched_thread_sends_its_reader_every_reply(as_other, other, thread, author):
    as_other.put(subscription(thread), {"level": "watching"}, format="json")
    make_reply(thread=thread, author=author, body="A plain point.")

    (notification,) = as_other.get("/api/notifications/").json()["results"]
    assert (notification["kind"], notification["actor"]) == ("watched", "alice")


@pytest.mark.parametrize("body", [{}, {"level": "loud"}, {"level": 1}, {"level": None}, {"level": ["muted"]}])
def test_a_bad_level_is_a_400_naming_it(as_other, other, thread, body):
    response = as_other.put(subscription(thread), body, format="json")

    assert response.status_code == 400
    assert "level" in response.json()
    assert not ThreadSubscription.objects.filter(user=other).exists()


@pytest.mark.parametrize("method", ["get", "put"])
def test_an_unknown_thread_is_a_json_404(as_other, db, method):
    response = getattr(as_other, method)("/api/threads/987654/subscription/", {"level": "muted"}, format="json")

    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.parametrize("method", ["get", "put"])
def test_following_needs_a_token(anon, thread, method):
    response = getattr(anon, method)(subscription(thread), {"level": "muted"}, format="json")

    assert response.status_code == 401


def test_reading_a_level_costs_a_fixed_number_of_queries(as_other, thread, query_budget):
    # 1 token with its user; 1 the thread with the caller's level beside it (a subquery).
    with query_budget(2):
        assert as_other.get(subscription(thread)).status_code == 200


def test_choosing_a_level_costs_a_fixed_number_of_queries(as_other, thread, query_budget):
    # 1 token with its user; 1 whether the thread exists; 1 the upsert of the reader's row.
    with query_budget(3):
        assert as_other.put(subscription(thread), {"level": "muted"}, format="json").status_code == 200
