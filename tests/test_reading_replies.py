"""Reading replies: ReplySerializer builds its JSON by hand for speed, and it must be, key for key and in the
same order, what DRF's walk over the declared fields gives."""

import datetime

import pytest
from rest_framework import serializers

from discussions import selectors, services
from discussions.serializers import ReplySerializer
from tests.clock import frozen_at
from tests.support.factories import UserFactory, make_reply


def declared(reply) -> dict:
    """The representation DRF's ModelSerializer derives from the declared fields."""
    return serializers.ModelSerializer.to_representation(ReplySerializer(), reply)


@pytest.fixture
def debate(topic, thread, author, other):
    """Replies of both stances with a parent, an edit, fractional rankings and votes from each side."""
    voters = [UserFactory(username=f"voter{i}") for i in range(6)]
    for i, voter in enumerate(voters):
        services.position_set(actor=voter, topic_slug="sora-leak", stance_slug=("pro-tester", "pro-openai")[i % 2])
    with frozen_at(datetime.datetime(2025, 3, 9, 23, 59, 59, 123456, tzinfo=datetime.UTC)):
        root = make_reply(thread=thread, author=other, stance="pro-openai", body="Terms are terms.")
    answer = make_reply(thread=thread, author=author, stance="pro-tester", body="Unpaid work.", parent=root)
    services.reply_update(actor=author, reply_id=answer.pk, body="Unpaid work, \u00e9t\u00e9 \U0001f600.")
    for i, voter in enumerate(voters):
        services.vote_cast(actor=voter, reply_id=root.pk, value=1 if i < 4 else -1)
        services.vote_cast(actor=voter, reply_id=answer.pk, value=-1 if i == 2 else 1)
    return [root, answer]


def test_each_reply_reads_as_its_declared_fields_give(debate):
    replies = list(selectors.reply_list())
    assert len(replies) == 3  # the opening post and the two replies

    for reply in replies:
        fast = ReplySerializer(reply).data

        assert list(fast.items()) == list(declared(reply).items())


def test_a_page_of_replies_reads_the_same(debate):
    replies = list(selectors.reply_list().order_by("-wilson", "-id"))

    page = ReplySerializer(replies, many=True).data

    assert [list(item.items()) for item in page] == [list(declared(r).items()) for r in replies]
    assert any(item["parent"] is not None for item in page)
    assert any(0 < item["best"] < 1 for item in page)
    assert {s for item in page for s in item["votes_by_stance"]} == {"pro-tester", "pro-openai"}


def test_the_json_keys_are_the_declared_fields(debate):
    assert list(ReplySerializer(selectors.reply_get(pk=debate[0].pk)).data) == ReplySerializer.Meta.fields


def test_a_summary_shows_each_reply_as_its_detail_does(debate, anon, thread, other):
    # The summaries read their replies as plain columns (one UNION ALL, the ORM's converters applied by hand):
    # each must still be, key for key, what GET /api/replies/{id}/ gives.
    root, answer = debate
    services.position_set(actor=other, topic_slug="sora-leak", stance_slug="pro-tester", persuaded_by_id=answer.pk)
    topic_summary = anon.get("/api/topics/sora-leak/summary/").json()
    thread_summary = anon.get(f"/api/threads/{thread.pk}/summary/").json()

    shown = [r for s in (topic_summary, thread_summary) for rows in s["top_replies"].values() for r in rows]
    shown += topic_summary["persuasive"]
    assert [r["id"] for r in topic_summary["persuasive"]] == [answer.pk]
    assert {r["id"] for r in shown} == {thread.opening_reply_id, root.pk, answer.pk}
    for reply in shown:
        assert list(reply.items()) == list(anon.get(f"/api/replies/{reply['id']}/").json().items())
