"""A site shows where the sides stand as a small image: the badge of a topic's stance balance."""

import xml.etree.ElementTree as ET

import pytest

from discussions.models import Stance
from tests.support.factories import TopicFactory, UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def texts(response) -> list[str]:
    root = ET.fromstring(response.content)  # well-formed XML, or this raises
    return [element.text for element in root.iter(f"{SVG}text")]


def test_the_badge_shows_each_stance_share_in_order(client, thread, reply, author):
    make_reply(thread=thread, author=author, stance="pro-tester", body="Again.")
    response = client.get("/api/topics/sora-leak/badge.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert texts(response) == ["67% The testers had a point", "33% OpenAI's programme was fair"]
    assert response["Cache-Control"] == "public, max-age=60"


def test_labels_are_escaped(client):
    topic = TopicFactory(slug="tricky", stances=(("a", 'Less <than> & "quoted"'), ("b", "Plain")))
    make_thread(topic=topic, author=UserFactory(username="x"), stance="a")
    response = client.get("/api/topics/tricky/badge.svg")

    assert b"<than>" not in response.content
    assert texts(response)[0] == '100% Less <than> & "quoted"'  # the text survives, as text


def test_an_unchanged_badge_is_a_304_and_a_change_makes_a_new_etag(client, thread, other):
    first = client.get("/api/topics/sora-leak/badge.svg")
    again = client.get("/api/topics/sora-leak/badge.svg", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304 and again.content == b""
    make_reply(thread=thread, author=other, stance="pro-openai", body="The other side.")
    changed = client.get("/api/topics/sora-leak/badge.svg", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_a_stance_relabelled_redraws_the_badge(client, topic):
    Stance.objects.filter(topic=topic, slug="pro-openai").update(label="Fair enough")
    assert texts(client.get("/api/topics/sora-leak/badge.svg"))[1] == "0% Fair enough"


def test_an_unknown_topic_is_a_json_404_whatever_the_accept(client):
    response = client.get("/api/topics/nope/badge.svg", HTTP_ACCEPT="image/svg+xml")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_the_badge_costs_a_summary_read(client, thread, query_budget):
    with query_budget(2):
        # 1 the topic's stances with the topic and each one's tally; 2 the summary's replies (each stance's
        # best and the most persuasive, one union). No CORS origin, so the allowed list is not read.
        assert client.get("/api/topics/sora-leak/badge.svg").status_code == 200
