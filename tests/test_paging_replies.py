"""Paging through a topic's or a thread's replies: `count` comes from the maintained reply counters when
the list is one topic or one thread unfiltered otherwise, and it must equal what the pages hold."""

import pytest

from discussions import services
from tests.support.factories import UserFactory, make_reply, make_thread

REPLIES = "/api/replies/"


@pytest.fixture
def busy(topic, rival_topic, thread, author, other, moderator):
    """A thread and a second thread in the topic, some replies withdrawn or hidden, and the rival topic
    (same stance slugs) busy too, so a count that leaked across topics or states would show."""
    second = make_thread(topic=topic, author=other, stance="pro-openai", title="Terms were clear")
    replies = [make_reply(thread=t, author=a) for t in (thread, second, thread) for a in (author, other)]
    services.reply_withdraw(actor=author, reply_id=replies[0].pk)
    services.reply_hide(actor=moderator, reply_id=replies[1].pk, reason="off topic")
    rival = make_thread(topic=rival_topic, author=author, stance="pro-tester", title="Elsewhere")
    for _ in range(3):
        make_reply(thread=rival, author=other)
    return second


def every_page(client, params) -> tuple[int, list]:
    """The `count` of the first page and the ids of all pages, following `next`."""
    response = client.get(REPLIES, params | {"page_size": 2})
    assert response.status_code == 200, response.content
    count, ids = response.json()["count"], []
    while True:
        body = response.json()
        ids += [r["id"] for r in body["results"]]
        if not body["next"]:
            return count, ids
        response = client.get(body["next"])


@pytest.mark.parametrize(
    "params",
    [
        {"topic": "sora-leak"},
        {"topic": "sora-leak", "ordering": "best"},
        {"topic": "rival-debate", "ordering": "-created_at"},
        {"topic": "sora-leak", "stance": "pro-openai"},  # counted with COUNT(*): no counter holds this
        {"topic": "sora-leak", "is_root": "false"},
        {"topic": "no-such-topic"},
        {"topic": "  sora-leak "},  # the filter strips it; so must the counter's lookup
        {"topic": ""},  # no filter at all: every visible reply of every topic
        {"topic": "rival-debate", "thread": ""},
    ],
)
def test_a_topic_page_counts_what_its_pages_hold(anon, busy, params):
    count, ids = every_page(anon, params)

    assert count == len(ids) == len(set(ids))


def test_a_thread_page_counts_what_its_pages_hold(anon, busy, thread):
    for params in ({"thread": thread.pk}, {"thread": busy.pk, "ordering": "-score"}, {"thread": 987654}):
        count, ids = every_page(anon, params)

        assert count == len(ids) == len(set(ids))


def test_the_counter_follows_a_restore_and_new_replies(anon, busy, thread, moderator):
    hidden = services.reply_hide(
        actor=moderator, reply_id=make_reply(thread=thread, author=UserFactory()).pk, reason="x"
    )
    before, _ = every_page(anon, {"topic": "sora-leak"})
    services.reply_restore(actor=moderator, reply_id=hidden.pk)
    make_reply(thread=busy, author=UserFactory())

    count, ids = every_page(anon, {"topic": "sora-leak"})

    assert count == len(ids) == before + 2


def test_a_topic_page_reads_the_counter_not_every_reply(anon, busy, django_assert_num_queries):
    # 1 the topic's reply_count (no COUNT(*) over its replies), 1 the page joined to author, stance and topic
    with django_assert_num_queries(2) as captured:
        response = anon.get(REPLIES, {"topic": "sora-leak", "ordering": "best"})

    assert response.status_code == 200
    assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)


def test_another_filter_falls_back_to_counting(anon, busy, django_assert_num_queries):
    # 1 COUNT(*) of the filtered replies, 1 the page joined to author, stance and topic
    with django_assert_num_queries(2) as captured:
        response = anon.get(REPLIES, {"topic": "sora-leak", "author": "bob"})

    assert response.status_code == 200
    assert any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)
