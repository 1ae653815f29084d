"""Clients poll summaries cheaply: ETag and Last-Modified validators, 304 while nothing changed."""

import datetime

import pytest
from django.utils.http import http_date

from discussions import services
from tests.clock import frozen_at
from tests.support.clients import client_for
from tests.support.factories import UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db

WRITTEN = datetime.datetime(2024, 3, 5, 10, 0, 0, tzinfo=datetime.UTC)
CHANGED = datetime.datetime(2024, 3, 6, 8, 30, 0, tzinfo=datetime.UTC)


at = frozen_at


@pytest.fixture
def debate(topic, author, other):
    """Everything written at WRITTEN, so Last-Modified is known to the second."""
    with at(WRITTEN):
        thread = make_thread(topic=topic, author=author, stance="pro-tester")
        answer = make_reply(thread=thread, author=other, stance="pro-openai", body="Before any edit.")
        services.vote_cast(actor=author, reply_id=answer.pk, value=1)
    return {"thread": thread, "answer": answer}


@pytest.fixture(params=["topic", "thread"])
def url(request, debate):
    if request.param == "topic":
        return "/api/topics/sora-leak/summary/"
    return f"/api/threads/{debate['thread'].pk}/summary/"


def test_a_summary_carries_an_etag_and_last_modified(url, anon):
    response = anon.get(url)

    assert response.status_code == 200
    assert response["ETag"].startswith('"') and response["ETag"].endswith('"') and len(response["ETag"]) > 2
    assert response["Last-Modified"] == "Tue, 05 Mar 2024 10:00:00 GMT"


def test_the_same_etag_again_is_304_with_an_empty_body(url, anon):
    etag = anon.get(url)["ETag"]

    response = anon.get(url, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_an_unchanged_summary_keeps_its_etag(url, anon, as_other):
    first = anon.get(url)["ETag"]

    # Reads change nothing, and who is asking does not either.
    assert anon.get(url)["ETag"] == first
    assert as_other.get(url)["ETag"] == first


def vote(debate):
    voter = client_for(UserFactory(username="late-voter"))
    assert voter.post(f"/api/replies/{debate['answer'].pk}/vote/", {"value": -1}, format="json").status_code == 200


def post(debate):
    body = {"thread": debate["thread"].pk, "body": "A late reply.", "stance": "pro-tester"}
    assert client_for(UserFactory(username="late-poster")).post("/api/replies/", body, format="json").status_code == 201


def edit(debate):
    # Only the body changes: no counter moves, the top reply's text does.
    answer = debate["answer"]
    client = client_for(answer.author)
    response = client.patch(f"/api/replies/{answer.pk}/", {"body": "After an edit."}, format="json")
    assert response.status_code == 200


def withdraw(debate):
    answer = debate["answer"]
    assert client_for(answer.author).delete(f"/api/replies/{answer.pk}/").status_code == 204


@pytest.mark.parametrize("change", [vote, post, edit, withdraw])
def test_after_a_change_the_old_etag_gets_the_new_summary(change, url, debate, anon):
    before = anon.get(url)
    with at(CHANGED):
        change(debate)

    response = anon.get(url, HTTP_IF_NONE_MATCH=before["ETag"])

    assert response.status_code == 200
    assert response["ETag"] != before["ETag"]
    assert response.json() != before.json()
    assert response["Last-Modified"] == "Wed, 06 Mar 2024 08:30:00 GMT"
    # A client polling by date sees the change too.
    assert anon.get(url, HTTP_IF_MODIFIED_SINCE=before["Last-Modified"]).status_code == 200
    assert anon.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_a_declared_position_changes_the_topic_summarys_validators(debate, anon, other):
    before = anon.get("/api/topics/sora-leak/summary/")
    with at(CHANGED):
        services.position_set(actor=other, topic_slug="sora-leak", stance_slug="pro-openai")

    response = anon.get("/api/topics/sora-leak/summary/", HTTP_IF_NONE_MATCH=before["ETag"])

    assert response.status_code == 200
    assert [s["positions"] for s in response.json()["stances"]] == [0, 1]
    assert response["Last-Modified"] == "Wed, 06 Mar 2024 08:30:00 GMT"


def test_if_modified_since_not_before_the_last_change_is_304(url, anon):
    assert anon.get(url, HTTP_IF_MODIFIED_SINCE=http_date(WRITTEN.timestamp() + 86_400 * 365)).status_code == 304
    assert anon.get(url, HTTP_IF_MODIFIED_SINCE="Tue, 05 Mar 2024 10:00:00 GMT").status_code == 304
    # A second earlier, the summary is newer than what the client has.
    assert anon.get(url, HTTP_IF_MODIFIED_SINCE="Tue, 05 Mar 2024 09:59:59 GMT").status_code == 200


def test_a_stale_etag_wins_over_a_date_in_the_future(url, anon):
    # If-None-Match takes precedence over If-Modified-Since (RFC 9110 13.2.2).
    response = anon.get(url, HTTP_IF_NONE_MATCH='"stale"', HTTP_IF_MODIFIED_SINCE="Fri, 01 Jan 2100 00:00:00 GMT")

    assert response.status_code == 200


def test_a_304_of_the_topic_summary_costs_two_queries(debate, anon, django_assert_num_queries):
    url = "/api/topics/sora-leak/summary/"
    etag = anon.get(url)["ETag"]
    # 1 the topic's stances with the topic and their tallies, 2 every reply shown (best per stance and
    # persuasive, one UNION ALL); the ETag hashes the summary, so a 304 still reads it all, but no more than a 200.
    with django_assert_num_queries(2):
        assert anon.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_304_of_a_thread_summary_costs_two_queries(debate, anon, django_assert_num_queries):
    url = f"/api/threads/{debate['thread'].pk}/summary/"
    etag = anon.get(url)["ETag"]
    # 1 the stances of the thread's topic with the topic, the thread and the thread's tallies,
    # 2 the best replies of each stance in the thread (one UNION ALL).
    with django_assert_num_queries(2):
        assert anon.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
