"""A signed-in reader keeps their own stream open: notifications and the unread count, authenticated by
token or, for a browser's EventSource, by a one-minute ticket."""

import time

import httpx
import pytest
from django.core import signing
from django.utils import timezone

from forum.models import ApiToken
from forum.tickets import TicketRefused, stream_ticket_issue, stream_ticket_user
from tests.support.live import Stream, data, live_node, person

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
