"""A signed-in reader keeps their own stream open: notifications and the unread count, authenticated by
token or, for a browser's EventSource, by a one-minute ticket."""

import time

import httpx
import pytest
from django.core import signing
from django.utils import timezone

from forum.models import ApiToken
from forum.tickets import TicketRefused, stream_ticket_issue, stream_ticket_user
from tests.support.live import Stream, data, live_node, manage, person

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    with live_node(tmp_path_factory.mktemp("live"), STREAM_HEARTBEAT_SECONDS="1") as node:
        yield node


def me_events(node, **query) -> httpx.URL:
    return httpx.URL(f"{node.base}/api/me/events/", params=query)


def ticket_for(node, token) -> dict:
    with node.api(token) as client:
        answer = client.post("/api/auth/stream-ticket/")
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_ticket_opens_the_stream_which_starts_with_the_unread_count(node):
    token = person(node, "ticket-holder")
    ticket = ticket_for(node, token)

    stream = Stream(me_events(node, ticket=ticket["ticket"]))
    try:
        assert stream.status == 200
        assert data(stream.next("unread-count")) == {"count": 0}
    finally:
        stream.close()


def test_the_token_header_opens_it_too(node):
    stream = Stream(me_events(node), {"Authorization": f"Token {person(node, 'header-holder')}"})
    try:
        assert data(stream.next("unread-count")) == {"count": 0}
    finally:
        stream.close()


def open_thread(node, token, title) -> int:
    with node.api(token) as client:
        answer = client.post(
            "/api/threads/", json={"topic": "sora-leak", "title": title, "body": "Opening.", "stance": "pro-tester"}
        )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def answer(node, token, thread_id, body):
    with node.api(token) as client:
        posted = client.post("/api/replies/", json={"thread": thread_id, "body": body, "stance": "pro-openai"})
    assert posted.status_code == 201, posted.text
    return posted.json()


def test_a_reply_in_a_watched_thread_arrives_and_a_muted_thread_sends_nothing(node):
    opener, replier = person(node, "stream-opener"), person(node, "stream-replier")
    watched, muted = open_thread(node, opener, "Watched"), open_thread(node, opener, "Muted")
    with node.api(opener) as client:
        assert client.put(f"/api/threads/{muted}/subscription/", json={"level": "muted"}).status_code == 200
    stream = Stream(me_events(node), {"Authorization": f"Token {opener}"})
    try:
        assert data(stream.next("unread-count")) == {"count": 0}

        answer(node, replier, muted, "Nobody hears this.")
        assert stream.quiet(1.5) == []  # a muted thread sends nothing, not even a count
        posted = answer(node, replier, watched, "The opener hears this.")

        notification = data(stream.next("notification"))
        assert (notification["kind"], notification["reply"], notification["actor"]) == (
            "watched",
            posted["id"],
            "stream-replier",
        )
        assert data(stream.next("unread-count")) == {"count": 1}
        with node.api(opener) as client:
            assert client.post("/api/notifications/read/", json={"all": True}).json() == {"count": 0}
        assert data(stream.next("unread-count")) == {"count": 0}  # marking read moves it live
    finally:
        stream.close()


def moderator(node, username) -> str:
    """A registered person added to the Moderators group: their token."""
    token = person(node, username)
    grant = "from django.contrib.auth.models import Group; from django.contrib.auth import get_user_model; "
    grant += f"Group.objects.get(name='Moderators').user_set.add(get_user_model().objects.get(username='{username}'))"
    manage(node.url, "shell", "-c", grant)
    return token


def test_a_moderators_edit_and_withdrawal_of_a_reply_reach_its_authors_stream(node):
    opener, writer, desk = person(node, "mod-opener"), person(node, "mod-writer"), moderator(node, "mod-desk")
    thread_id = open_thread(node, opener, "Moderated")
    posted = answer(node, writer, thread_id, "Said too loudly.")
    stream = Stream(me_events(node), {"Authorization": f"Token {writer}"})
    try:
        assert data(stream.next("unread-count")) == {"count": 0}
        with node.api(desk) as client:
            changed = client.patch(f"/api/replies/{posted['id']}/", json={"stance": "pro-tester"})
            assert changed.status_code == 200, changed.text
            edited = data(stream.next("notification"))
            assert data(stream.next("unread-count")) == {"count": 1}
            assert client.delete(f"/api/replies/{posted['id']}/").status_code == 204
        withdrawn = data(stream.next("notification"))

        # Both about the writer's own reply, and no moderator named.
        assert [(n["kind"], n["reply"], n["actor"]) for n in (edited, withdrawn)] == [
            ("moderation", posted["id"], None),
            ("moderation", posted["id"], None),
        ]
        assert data(stream.next("unread-count")) == {"count": 2}
    finally:
        stream.close()


def test_a_reconnecting_reader_gets_the_notifications_it_missed(node):
    opener, replier = person(node, "replay-opener"), person(node, "replay-replier")
    thread_id = open_thread(node, opener, "Replayed")
    stream = Stream(me_events(node), {"Authorization": f"Token {opener}"})
    since = stream.next("unread-count").id
    stream.close()
    missed = [answer(node, replier, thread_id, f"While away {n}.")["id"] for n in range(2)]

    again = Stream(me_events(node, since=since), {"Authorization": f"Token {opener}"})
    try:
        assert [data(again.next("notification"))["reply"] for _ in missed] == missed
        assert data(again.next("unread-count")) == {"count": 2}
    finally:
        again.close()


def test_no_credentials_a_forged_ticket_or_a_revoked_token_get_401(node):
    token = person(node, "revoker")
    ticket = ticket_for(node, token)["ticket"]
    forged = ticket[:-4] + ("AAAA" if not ticket.endswith("AAAA") else "BBBB")
    with httpx.Client(base_url=node.base, timeout=5) as client:
        for params, headers in (({}, {}), ({"ticket": forged}, {}), ({}, {"Authorization": "Token 0123abcd"})):
            answer = client.get("/api/me/events/", params=params, headers=headers)
            assert answer.status_code == 401, (params, headers)
            assert answer.headers["content-type"] == "application/json" and "detail" in answer.json()
            assert answer.headers["www-authenticate"] == "Token"
        assert client.post("/api/auth/stream-ticket/").status_code == 401

        with node.api(token) as own:
            assert own.post("/api/auth/logout/").status_code == 204
        answer = client.get("/api/me/events/", params={"ticket": ticket})
        assert answer.status_code == 401  # the token it was made with no longer works


def test_a_ticket_expires_after_its_minute(author, settings, monkeypatch):
    settings.STREAM_TICKET_SECONDS = 60
    token, _ = ApiToken.objects.create(user=author)

    ticket, expires_at = stream_ticket_issue(user=author, token=token)
    assert stream_ticket_user(ticket) == author
    assert 59 <= (expires_at - timezone.now()).total_seconds() <= 60
    later = time.time() + 61
    monkeypatch.setattr(signing.time, "time", lambda: later)  # what signing reads the age with
    with pytest.raises(TicketRefused):
        stream_ticket_user(ticket)
