"""Clients read how each side is doing: exact headcounts, votes, shares, leader and best replies."""

import pytest
from django.db import connection
from rest_framework import serializers

from discussions import selectors, services
from discussions.ranking import wilson_lower_bound
from discussions.serializers import SummarySerializer
from tests.support.factories import TopicFactory, UserFactory, make_reply, make_thread
from tests.support.queries import forget_prepared, prepared_statements

pytestmark = pytest.mark.django_db


def cast(user, reply, value):
    services.vote_cast(actor=user, reply_id=reply.pk, value=value)


@pytest.fixture
def debate(topic):
    """A small hand-built debate whose every number is worked out in the tests below."""
    a, b, c, d = (UserFactory(username=n) for n in ("ann", "ben", "cat", "dan"))
    thread = make_thread(topic=topic, author=a, stance="pro-tester", body="r1")
    r1 = thread.opening_reply
    r2 = make_reply(thread=thread, author=b, stance="pro-openai", body="r2")
    r3 = make_reply(thread=thread, author=c, stance="pro-tester", body="r3", parent=r2)
    r4 = make_reply(thread=thread, author=b, stance="pro-tester", body="r4")  # ben argues both sides
    r5 = make_reply(thread=thread, author=d, stance="pro-openai", body="r5")
    for voter in (b, c, d):
        cast(voter, r1, 1)
    cast(a, r2, 1)
    cast(c, r2, -1)
    cast(d, r2, -1)
    cast(a, r3, 1)
    cast(a, r4, -1)
    cast(a, r5, 1)
    services.reply_withdraw(actor=d, reply_id=r5.pk)  # its reply and its vote leave every tally
    # A second thread of another topic with the same stance slugs must not leak into the numbers.
    rival = TopicFactory(slug="elsewhere")
    make_reply(thread=make_thread(topic=rival, author=d), author=a, stance="pro-tester")
    return {"thread": thread, "replies": (r1, r2, r3, r4, r5)}


def test_topic_summary_has_the_exact_numbers(debate, anon):
    r1, r2, r3, r4, _ = debate["replies"]
    response = anon.get("/api/topics/sora-leak/summary/")

    assert response.status_code == 200
    body = response.json()
    assert (body["topic"], body["replies"], body["participants"], body["votes"]) == ("sora-leak", 4, 3, 8)
    tester, openai = body["stances"]
    assert tester == {
        "stance": "pro-tester",
        "label": "The testers had a point",
        "replies": 3,
        "participants": 3,
        "upvotes": 4,
        "downvotes": 1,
        "score": 3,
        "reply_share": 0.75,
        "vote_share": 0.8,
        "positions": 0,
    }
    assert openai == {
        "stance": "pro-openai",
        "label": "OpenAI's programme was fair",
        "replies": 1,
        "participants": 1,
        "upvotes": 1,
        "downvotes": 2,
        "score": -1,
        "reply_share": 0.25,
        "vote_share": pytest.approx(0.2),
        "positions": 0,
    }
    assert body["leading"] == "pro-tester"
    assert [r["id"] for r in body["top_replies"]["pro-tester"]] == [r1.pk, r3.pk, r4.pk]
    assert [r["id"] for r in body["top_replies"]["pro-openai"]] == [r2.pk]
    assert body["top_replies"]["pro-tester"][0]["body"] == "r1"


def test_top_replies_rank_by_the_wilson_lower_bound_not_by_score(topic, author, anon):
    thread = make_thread(topic=topic, author=author)
    many = make_reply(thread=thread, author=author, stance="pro-openai", body="many")  # 12 up, 4 down
    few = make_reply(thread=thread, author=author, stance="pro-openai", body="few")  # 3 up, 0 down
    voters = [UserFactory(username=f"v{i}") for i in range(16)]
    for i, voter in enumerate(voters):
        cast(voter, many, 1 if i < 12 else -1)
    for voter in voters[:3]:
        cast(voter, few, 1)
    assert wilson_lower_bound(12, 4) > wilson_lower_bound(3, 0)  # score alone would agree; this pins why

    top = anon.get("/api/topics/sora-leak/summary/").json()["top_replies"]["pro-openai"]

    assert [r["body"] for r in top] == ["many", "few"]


def test_thread_summary_counts_only_that_thread(debate, topic, author, anon):
    make_thread(topic=topic, author=author, stance="pro-openai", title="Another thread")
    thread = debate["thread"]

    body = anon.get(f"/api/threads/{thread.pk}/summary/").json()

    assert body["thread"] == thread.pk
    assert (body["replies"], body["participants"], body["votes"]) == (4, 3, 8)
    assert [s["replies"] for s in body["stances"]] == [3, 1]
    topic_body = anon.get("/api/topics/sora-leak/summary/").json()
    assert [s["replies"] for s in topic_body["stances"]] == [3, 2]


def test_every_stance_appears_with_zeros_in_the_topics_order(anon, topic):
    body = anon.get("/api/topics/sora-leak/summary/").json()

    assert [s["stance"] for s in body["stances"]] == ["pro-tester", "pro-openai"]
    assert all(s["replies"] == s["upvotes"] == s["reply_share"] == s["vote_share"] == 0 for s in body["stances"])
    assert body["leading"] is None
    assert body["top_replies"] == {"pro-tester": [], "pro-openai": []}
    assert (body["replies"], body["participants"], body["votes"]) == (0, 0, 0)


def test_a_tie_at_the_top_leads_nobody(topic, author, other, anon):
    thread = make_thread(topic=topic, author=author, stance="pro-tester")
    answer = make_reply(thread=thread, author=other, stance="pro-openai")
    cast(other, thread.opening_reply, 1)
    cast(author, answer, 1)

    body = anon.get("/api/topics/sora-leak/summary/").json()

    assert [s["score"] for s in body["stances"]] == [1, 1]
    assert body["leading"] is None


def test_a_side_with_a_higher_negative_score_still_leads(topic, author, other, anon):
    thread = make_thread(topic=topic, author=author, stance="pro-tester")
    answer = make_reply(thread=thread, author=other, stance="pro-openai")
    cast(other, thread.opening_reply, -1)
    cast(author, answer, -1)
    cast(UserFactory(username="third"), answer, -1)

    assert anon.get("/api/topics/sora-leak/summary/").json()["leading"] == "pro-tester"


def test_shares_sum_to_one(debate, anon):
    stances = anon.get("/api/topics/sora-leak/summary/").json()["stances"]

    assert sum(s["reply_share"] for s in stances) == pytest.approx(1.0)
    assert sum(s["vote_share"] for s in stances) == pytest.approx(1.0)


def test_unknown_topic_or_thread_is_404(anon):
    assert anon.get("/api/topics/no-such-topic/summary/").status_code == 404
    assert anon.get("/api/threads/999999/summary/").status_code == 404


@pytest.mark.parametrize("size", [2, 20])
def test_summary_query_count_does_not_grow_with_the_debate(size, topic, author, anon, django_assert_num_queries):
    thread = make_thread(topic=topic, author=author)
    for i in range(size):
        reply = make_reply(
            thread=thread, author=UserFactory(username=f"p{i}"), stance=("pro-tester", "pro-openai")[i % 2]
        )
        cast(author, reply, 1)
    # 1 the topic's stances with the topic and each stance's tally (a left join);
    # 1 every reply shown: the best of each stance and the persuasive ones, one UNION ALL of index scans.
    with django_assert_num_queries(2):
        assert anon.get("/api/topics/sora-leak/summary/").status_code == 200
    # 1 the stances of the thread's topic with the topic, the thread's participant count and its tallies;
    # 1 the best replies of each stance in the thread, one UNION ALL.
    with django_assert_num_queries(2):
        assert anon.get(f"/api/threads/{thread.pk}/summary/").status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_topic_summarys_replies_are_prepared_a_threads_are_not(debate, anon):
    forget_prepared()
    assert anon.get("/api/topics/sora-leak/summary/").status_code == 200
    assert anon.get(f"/api/threads/{debate['thread'].pk}/summary/").status_code == 200

    # Planned once per connection: its planning cost four times its run. A thread's stays planned per value.
    summaries = [sql for sql in prepared_statements() if sql.startswith("SELECT * FROM (SELECT 0 AS part")]
    assert len(summaries) == 1 and '"thread_id" = $' not in summaries[0], summaries


@pytest.mark.parametrize("which", ["topic", "thread"])
def test_a_summary_reads_as_its_declared_fields_give(debate, other, which):
    # SummarySerializer builds its JSON by hand for speed: key for key and in order, DRF's walk over its fields.
    r1 = debate["replies"][0]
    services.position_set(actor=other, topic_slug="sora-leak", stance_slug="pro-openai", persuaded_by_id=r1.pk)
    if which == "topic":
        summary, _ = selectors.topic_summary(topic=selectors.topic_for_summary(slug="sora-leak"))
    else:
        summary, _ = selectors.thread_summary(thread=selectors.thread_for_summary(pk=debate["thread"].pk))

    fast = SummarySerializer(summary).data
    declared = serializers.Serializer.to_representation(SummarySerializer(), summary)

    assert json_items(fast) == json_items(declared)
    assert ("persuasive" in fast, "thread" in fast) == ((True, False) if which == "topic" else (False, True))


def json_items(value):
    """Nested key order made visible: dicts as lists of their items, all the way down."""
    if isinstance(value, dict):
        return [(k, json_items(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [json_items(v) for v in value]
    return value
