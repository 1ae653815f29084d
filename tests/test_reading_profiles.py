"""Readers look people up: a public profile with their visible replies and where they stand now."""

import pytest

from discussions import services
from tests.support.factories import make_reply

pytestmark = pytest.mark.django_db


def profile(client, username):
    return client.get(f"/api/users/{username}/")


def test_a_profile_counts_visible_replies_and_shows_current_positions(anon, topic, rival_topic, thread, author, reply):
    hidden = make_reply(thread=thread, author=author, body="Soon withdrawn.")
    services.reply_withdraw(actor=author, reply_id=hidden.pk)
    services.position_set(actor=author, topic_slug="sora-leak", stance_slug="pro-openai")
    services.position_set(actor=author, topic_slug="sora-leak", stance_slug="pro-tester")  # changed: the last one
    services.position_set(actor=author, topic_slug="rival-debate", stance_slug="pro-openai")

    response = profile(anon, "alice")

    assert response.status_code == 200
    body = response.json()
    assert body.pop("date_joined")
    assert body == {
        "username": "alice",
        "reply_count": 1,  # the opening post; the withdrawn reply is not counted
        "positions": [
            {"topic": "rival-debate", "stance": "pro-openai"},
            {"topic": "sora-leak", "stance": "pro-tester"},
        ],
    }


def test_a_profile_says_nothing_private(anon, author):
    body = profile(anon, "alice").json()

    assert "email" not in body and "id" not in body and "is_staff" not in body


@pytest.mark.parametrize("username", ["nobody", "a%00b", "x" * 151])
def test_an_unknown_or_impossible_username_is_a_json_404(anon, db, username):
    response = profile(anon, username)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_a_profile_costs_three_queries(anon, author, django_assert_num_queries):
    # 1 the user; 1 count of their visible replies; 1 their current positions with topic and stance slugs
    with django_assert_num_queries(3):
        assert profile(anon, "alice").status_code == 200
