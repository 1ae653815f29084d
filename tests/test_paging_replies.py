"""Paging through lists: `next` links are keyset cursors that visit every row once, `previous` walks back,
`page=` keeps working, and `count` is a maintained counter's or null, never a COUNT(*) over a topic."""

import base64
import json

import pytest

from discussions import services
from tests.support.factories import UserFactory, make_reply, make_thread

REPLIES = "/api/replies/"
REPLY_ORDERINGS = ["created_at", "-created_at", "-score", "best", "controversial"]


@pytest.fixture
def busy(topic, rival_topic, thread, author, other, moderator):
    """A thread and a second thread in the topic, some replies withdrawn or hidden, a few votes (most replies
    tie at score 0, so the id must break ties), and the rival topic (same stance slugs) busy too."""
    second = make_thread(topic=topic, author=other, stance="pro-openai", title="Terms were clear")
    replies = [make_reply(thread=t, author=a) for t in (thread, second, thread) for a in (author, other)]
    services.reply_withdraw(actor=author, reply_id=replies[0].pk)
    services.reply_hide(actor=moderator, reply_id=replies[1].pk, reason="off topic")
    voters = UserFactory.create_batch(3)
    for voter, value in zip(voters, (1, 1, -1), strict=True):
        services.vote_cast(actor=voter, reply_id=replies[2].pk, value=value)
    services.vote_cast(actor=voters[0], reply_id=replies[3].pk, value=1)
    rival = make_thread(topic=rival_topic, author=author, stance="pro-tester", title="Elsewhere")
    for _ in range(3):
        make_reply(thread=rival, author=other)
    return second


def every_page(client, path, params, *, page_size=2) -> tuple[int | None, list, list]:
    """The first page's `count`, the ids of all pages following `next`, and the answers (last one first)."""
    response = client.get(path, params | {"page_size": page_size})
    assert response.status_code == 200, response.content
    count, ids, answers = response.json()["count"], [], []
    while True:
        body = response.json()
        answers.insert(0, body)
        ids += [row["id"] if "id" in row else row["slug"] for row in body["results"]]
        if not body["next"]:
            return count, ids, answers
        response = client.get(body["next"])
        assert response.status_code == 200, response.content


def one_page(client, path, params) -> list:
    response = client.get(path, params | {"page_size": 100})
    assert response.status_code == 200, response.content
    assert response.json()["next"] is None  # the whole list fits: the reference order
    return [row["id"] if "id" in row else row["slug"] for row in response.json()["results"]]


@pytest.mark.parametrize("ordering", REPLY_ORDERINGS)
@pytest.mark.parametrize("scope", [{"topic": "sora-leak"}, {"topic": "rival-debate"}, {}, {"is_root": "true"}])
def test_next_links_visit_every_reply_once_in_order(anon, busy, ordering, scope):
    params = scope | {"ordering": ordering}

    _, ids, _ = every_page(anon, REPLIES, params)

    assert ids == one_page(anon, REPLIES, params)
    assert len(ids) > 2  # more than one page was followed


def test_next_links_are_cursors_and_previous_walks_back(anon, busy):
    params = {"topic": "sora-leak", "ordering": "best"}
    _, ids, answers = every_page(anon, REPLIES, params)
    last = answers[0]
    assert "cursor=" in answers[-1]["next"] and "page=" not in answers[-1]["next"]

    back, response = [], anon.get(last["previous"])
    while True:
        body = response.json()
        back = [r["id"] for r in body["results"]] + back
        if not body["previous"]:
            break
        response = anon.get(body["previous"])

    assert back == ids[: len(ids) - len(last["results"])]


def test_a_numbered_page_still_works_and_its_next_link_continues_from_it(anon, busy):
    params = {"topic": "sora-leak", "ordering": "-created_at", "page_size": 2}
    reference = one_page(anon, REPLIES, {"topic": "sora-leak", "ordering": "-created_at"})

    second = anon.get(REPLIES, params | {"page": 2}).json()
    third = anon.get(second["next"]).json()

    assert [r["id"] for r in second["results"]] == reference[2:4]
    assert [r["id"] for r in third["results"]] == reference[4:6]
    assert anon.get(second["previous"]).json()["results"] == anon.get(REPLIES, params).json()["results"]


def test_a_page_past_the_end_is_a_404_and_a_bad_page_a_400_naming_it(anon, busy):
    assert anon.get(REPLIES, {"topic": "sora-leak", "page": 99}).status_code == 404
    for bad in ("0", "-1", "two", "1" * 30):
        response = anon.get(REPLIES, {"topic": "sora-leak", "page": bad})

        assert response.status_code == 400, bad
        assert "page" in response.json()


def cursor_of(values, *, signature="-wilson,-id", backwards=0) -> str:
    payload = json.dumps([signature, backwards, values]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!",
        "x" * 2000,
        cursor_of([0.5]),  # one value for two columns
        cursor_of([0.5, 2**70]),  # beyond the id column's range
        cursor_of(["NaN", 3]),
        cursor_of([[1], 3]),
        cursor_of([0.5, 3], backwards=7),
        base64.urlsafe_b64encode(b'["-wilson,-id",0,[NaN,3]]').decode(),
        cursor_of([0.5, 3], signature="-score,-id"),  # made by another ordering
    ],
)
def test_a_forged_or_foreign_cursor_is_a_400_naming_it(anon, busy, cursor):
    response = anon.get(REPLIES, {"topic": "sora-leak", "ordering": "best", "cursor": cursor})

    assert response.status_code == 400, response.content
    assert "cursor" in response.json()


def test_a_well_formed_cursor_from_anywhere_is_a_position(anon, busy):
    reference = one_page(anon, REPLIES, {"topic": "sora-leak", "ordering": "best"})

    response = anon.get(REPLIES, {"topic": "sora-leak", "ordering": "best", "cursor": cursor_of([2.0, 0])})

    assert [r["id"] for r in response.json()["results"]] == reference[:20]


@pytest.mark.parametrize(
    "params",
    [
        {"topic": "sora-leak"},
        {"topic": "sora-leak", "ordering": "best"},
        {"topic": "rival-debate", "ordering": "-created_at"},
        {"topic": "no-such-topic"},
        {"topic": "  sora-leak "},  # the filter strips it; so must the counter's lookup
        {"topic": ""},  # no filter at all: every visible reply of every topic
        {"topic": "rival-debate", "thread": ""},
    ],
)
def test_a_counted_list_counts_what_its_pages_hold(anon, busy, params):
    count, ids, _ = every_page(anon, REPLIES, params)

    assert count == len(ids) == len(set(ids))


def test_a_thread_page_counts_what_its_pages_hold(anon, busy, thread):
    for params in ({"thread": thread.pk}, {"thread": busy.pk, "ordering": "-score"}, {"thread": 987654}):
        count, ids, _ = every_page(anon, REPLIES, params)

        assert count == len(ids) == len(set(ids))


@pytest.mark.parametrize(
    "params",
    [
        {"topic": "sora-leak", "stance": "pro-openai"},
        {"topic": "sora-leak", "is_root": "false"},
        {"topic": "sora-leak", "author": "bob"},
        {"thread": 1, "stance": "pro-tester"},
    ],
)
def test_a_list_no_counter_knows_has_a_null_count(anon, busy, params):
    assert anon.get(REPLIES, params).json()["count"] is None


def test_the_counter_follows_a_restore_and_new_replies(anon, busy, thread, moderator):
    hidden = services.reply_hide(
        actor=moderator, reply_id=make_reply(thread=thread, author=UserFactory()).pk, reason="x"
    )
    before, _, _ = every_page(anon, REPLIES, {"topic": "sora-leak"})
    services.reply_restore(actor=moderator, reply_id=hidden.pk)
    make_reply(thread=busy, author=UserFactory())

    count, ids, _ = every_page(anon, REPLIES, {"topic": "sora-leak"})

    assert count == len(ids) == before + 2


@pytest.mark.parametrize("ordering", ["created_at", "-created_at", "-last_activity_at", "-reply_count", ""])
def test_thread_lists_page_by_cursor_and_count_from_the_topics(anon, busy, topic, ordering):
    for extra in range(3):
        make_thread(topic=topic, author=UserFactory(), title=f"More {extra}")
    params = {"topic": "sora-leak", "ordering": ordering}

    count, ids, _ = every_page(anon, "/api/threads/", params)

    assert ids == one_page(anon, "/api/threads/", params)
    assert count == len(ids) == 5
    assert every_page(anon, "/api/threads/", {})[0] == 6  # the rival topic's thread too
    assert every_page(anon, "/api/threads/", {"topic": "sora-leak", "stance": "pro-tester"})[0] is None


def test_topics_and_common_ground_page_by_cursor(anon, busy, topic):
    count, slugs, answers = every_page(anon, "/api/topics/", {}, page_size=1)
    assert slugs == one_page(anon, "/api/topics/", {}) and count == len(slugs) == 2
    assert "cursor=" in answers[-1]["next"]

    _, ids, _ = every_page(anon, "/api/topics/sora-leak/common-ground/", {}, page_size=1)
    assert ids == one_page(anon, "/api/topics/sora-leak/common-ground/", {})


def test_a_page_reads_the_counter_not_every_reply(anon, busy, django_assert_num_queries):
    # 1 the topic's reply_count (no COUNT(*) over its replies), 1 the page joined to author, stance and topic
    with django_assert_num_queries(2) as captured:
        response = anon.get(REPLIES, {"topic": "sora-leak", "ordering": "best"})

    assert response.status_code == 200
    assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)


def test_a_cursor_page_costs_what_the_first_does_and_skips_nothing_by_offset(anon, busy, django_assert_num_queries):
    first = anon.get(REPLIES, {"topic": "sora-leak", "ordering": "best", "page_size": 1}).json()
    # 1 the topic's reply_count, 1 the page after the cursor's row (a range of the index, no OFFSET)
    with django_assert_num_queries(2) as captured:
        response = anon.get(first["next"])

    assert response.status_code == 200
    page = captured.captured_queries[-1]["sql"].upper()
    assert "OFFSET" not in page and "COUNT(" not in page


def test_a_filtered_page_counts_nothing(anon, busy, django_assert_num_queries):
    # 1 the author's id (looked up first, so the planner sees it: discussions/filters.py); 1 the page joined to
    # author, stance and topic: no counter knows this list, and no COUNT(*) is made
    with django_assert_num_queries(2) as captured:
        response = anon.get(REPLIES, {"topic": "sora-leak", "author": "bob"})

    assert response.status_code == 200
    assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2025-01-01T00:00:00"])
def test_a_cursor_moment_out_of_range_or_without_its_zone_is_a_400(anon, busy, moment):
    cursor = cursor_of([moment, 1], signature="created_at,id")

    response = anon.get(REPLIES, {"topic": "sora-leak", "cursor": cursor})

    assert response.status_code == 400, response.content
    assert "cursor" in response.json()
