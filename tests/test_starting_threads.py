"""Starting a thread posts its opening reply too; threads are listed, filtered and ordered per topic."""

from datetime import timedelta

import pytest
from django.utils import timezone

from discussions.models import Reply, Thread, Topic
from tests.support.factories import TopicFactory, UserFactory, make_reply, make_thread

THREADS = "/api/threads/"
CONTRACT_FIELDS = {
    "id",
    "topic",
    "title",
    "body",
    "stance",
    "author",
    "created_at",
    "reply_count",
    "is_locked",
    "is_pinned",
}


def new_thread(**overrides):
    return {
        "topic": "sora-leak",
        "title": "Who paid the testers?",
        "body": "Nobody, as far as I can tell.",
        "stance": "pro-tester",
        **overrides,
    }


def written():
    """Everything a thread post could write, to show a refused post wrote nothing."""
    return (
        Thread.objects.count(),
        Reply.objects.count(),
        list(Topic.objects.order_by("pk").values_list("thread_count", "reply_count")),
    )


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


# --- posting ---------------------------------------------------------------------------------


def test_post_creates_the_thread(as_author, author, topic):
    response = as_author.post(THREADS, new_thread(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= CONTRACT_FIELDS
    thread = Thread.objects.get(pk=body["id"])
    assert {key: body[key] for key in CONTRACT_FIELDS - {"id", "created_at"}} == {
        "topic": "sora-leak",
        "title": "Who paid the testers?",
        "body": "Nobody, as far as I can tell.",
        "stance": "pro-tester",
        "author": "alice",
        "reply_count": 1,
        "is_locked": False,
        "is_pinned": False,
    }
    assert body["created_at"]
    assert thread.author == author
    assert thread.topic == topic


def test_post_trims_title_and_body(as_author, topic):
    response = as_author.post(THREADS, new_thread(title="  Spaced  ", body="\n Body \n"), format="json")

    assert response.status_code == 201
    assert (response.json()["title"], response.json()["body"]) == ("Spaced", "Body")


def test_opening_post_is_the_first_reply_and_counts(as_author, anon, topic):
    response = as_author.post(THREADS, new_thread(), format="json")
    thread_id = response.json()["id"]

    replies = anon.get("/api/replies/", {"thread": thread_id}).json()["results"]

    assert len(replies) == 1
    opening = replies[0]
    assert (opening["thread"], opening["parent"], opening["author"]) == (thread_id, None, "alice")
    assert (opening["body"], opening["stance"]) == ("Nobody, as far as I can tell.", "pro-tester")
    thread = Thread.objects.get(pk=thread_id)
    assert thread.opening_reply_id == opening["id"]
    assert thread.reply_count == 1
    topic.refresh_from_db()
    assert (topic.thread_count, topic.reply_count) == (1, 1)
    assert anon.get(f"{THREADS}{thread_id}/").json()["reply_count"] == 1


def test_counts_add_up_over_several_threads(as_author, as_other, topic, rival_topic):
    as_author.post(THREADS, new_thread(), format="json")
    as_other.post(THREADS, new_thread(stance="pro-openai"), format="json")

    topic.refresh_from_db()
    rival_topic.refresh_from_db()
    assert (topic.thread_count, topic.reply_count) == (2, 2)
    assert (rival_topic.thread_count, rival_topic.reply_count) == (0, 0)


def test_a_title_of_exactly_200_characters_is_accepted(as_author, topic):
    response = as_author.post(THREADS, new_thread(title="t" * 200), format="json")

    assert response.status_code == 201
    assert len(response.json()["title"]) == 200


# --- refusals write nothing ------------------------------------------------------------------


def test_unknown_topic_is_400(as_author, topic):
    before = written()

    response = as_author.post(THREADS, new_thread(topic="no-such-topic"), format="json")

    assert response.status_code == 400
    assert "topic" in response.json()
    assert written() == before


def test_stance_of_another_topic_is_400(as_author, topic):
    # "yes" exists, but only in the referendum topic; sora-leak must not accept it.
    TopicFactory(slug="referendum", stances=(("yes", "Yes"), ("no", "No")))
    before = written()

    response = as_author.post(THREADS, new_thread(stance="yes"), format="json")

    assert response.status_code == 400
    assert "stance" in response.json()
    assert written() == before


def test_stance_of_the_seeded_topic_is_refused_in_another_topic(as_author, topic):
    TopicFactory(slug="referendum", stances=(("yes", "Yes"), ("no", "No")))
    before = written()

    response = as_author.post(THREADS, new_thread(topic="referendum", stance="pro-tester"), format="json")

    assert response.status_code == 400
    assert "stance" in response.json()
    assert written() == before


def test_unknown_stance_is_400(as_author, topic):
    before = written()

    response = as_author.post(THREADS, new_thread(stance="undecided"), format="json")

    assert response.status_code == 400
    assert "stance" in response.json()
    assert written() == before


@pytest.mark.parametrize("field", ["title", "body"])
@pytest.mark.parametrize("value", ["", "   ", "\n\t "])
def test_blank_title_or_body_is_400(as_author, topic, field, value):
    before = written()

    response = as_author.post(THREADS, new_thread(**{field: value}), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert written() == before


def test_title_of_201_characters_is_400(as_author, topic):
    before = written()

    response = as_author.post(THREADS, new_thread(title="t" * 201), format="json")

    assert response.status_code == 400
    assert "title" in response.json()
    assert written() == before


def test_body_over_20000_characters_is_400(as_author, topic):
    before = written()

    response = as_author.post(THREADS, new_thread(body="b" * 20_001), format="json")

    assert response.status_code == 400
    assert "body" in response.json()
    assert written() == before


@pytest.mark.parametrize("field", ["title", "body"])
def test_nul_character_is_400_not_500(as_author, topic, field):
    before = written()

    response = as_author.post(THREADS, new_thread(**{field: "before\x00after"}), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert written() == before


def test_missing_fields_are_each_named(as_author, topic):
    before = written()

    response = as_author.post(THREADS, {}, format="json")

    assert response.status_code == 400
    assert {"topic", "title", "body", "stance"} <= set(response.json())
    assert written() == before


def test_anonymous_is_401(anon, topic):
    before = written()

    response = anon.post(THREADS, new_thread(), format="json")

    assert response.status_code == 401
    assert written() == before


def test_locked_topic_is_403_with_detail(as_author, topic):
    topic.is_locked = True
    topic.save()
    before = written()

    response = as_author.post(THREADS, new_thread(), format="json")

    assert response.status_code == 403
    assert response.json()["detail"]
    assert written() == before


def test_locking_one_topic_leaves_the_other_open(as_author, topic, rival_topic):
    topic.is_locked = True
    topic.save()

    response = as_author.post(THREADS, new_thread(topic="rival-debate"), format="json")

    assert response.status_code == 201


# --- listing ---------------------------------------------------------------------------------


@pytest.fixture
def debate(topic, rival_topic, author, other):
    """Threads in both topics, by two authors, from both stances, opened one minute apart."""
    start = timezone.now() - timedelta(hours=1)
    specs = [
        ("t1", topic, author, "pro-tester"),
        ("t2", topic, other, "pro-openai"),
        ("t3", topic, author, "pro-openai"),
        ("rival", rival_topic, author, "pro-tester"),
    ]
    threads = {}
    for i, (name, in_topic, by, stance) in enumerate(specs):
        thread = make_thread(topic=in_topic, author=by, stance=stance, title=name)
        Thread.objects.filter(pk=thread.pk).update(
            created_at=start + timedelta(minutes=i), last_activity_at=start + timedelta(minutes=i)
        )
        threads[name] = thread
    return threads


def test_list_is_paginated(anon, debate):
    response = anon.get(THREADS, {"page_size": 2})

    body = response.json()
    assert body["count"] == 4
    assert len(body["results"]) == 2
    assert body["next"] is not None


def test_list_items_have_the_contract_fields(anon, debate):
    results = anon.get(THREADS, {"topic": "sora-leak"}).json()["results"]

    assert all(set(item) >= CONTRACT_FIELDS for item in results)


def test_filter_by_topic(anon, debate):
    assert set(ids(anon.get(THREADS, {"topic": "sora-leak"}))) == {debate[n].pk for n in ("t1", "t2", "t3")}
    assert ids(anon.get(THREADS, {"topic": "rival-debate"})) == [debate["rival"].pk]
    assert ids(anon.get(THREADS, {"topic": "no-such-topic"})) == []


def test_default_order_is_newest_first_with_pinned_on_top(anon, debate):
    Thread.objects.filter(pk=debate["t1"].pk).update(is_pinned=True)

    assert ids(anon.get(THREADS, {"topic": "sora-leak"})) == [debate[n].pk for n in ("t1", "t3", "t2")]


def test_filter_by_stance_within_a_topic(anon, debate):
    # The rival topic reuses the slug "pro-tester": the topic filter must keep it out.
    response = anon.get(THREADS, {"topic": "sora-leak", "stance": "pro-tester"})

    assert ids(response) == [debate["t1"].pk]


def test_filter_by_stance_across_topics(anon, debate):
    response = anon.get(THREADS, {"stance": "pro-tester"})

    assert set(ids(response)) == {debate["t1"].pk, debate["rival"].pk}


@pytest.mark.parametrize("by", ["username", "id"])
def test_filter_by_author(anon, debate, other, by):
    value = other.username if by == "username" else other.pk

    assert ids(anon.get(THREADS, {"topic": "sora-leak", "author": value})) == [debate["t2"].pk]


def test_filter_by_unknown_author_is_empty(anon, debate):
    assert ids(anon.get(THREADS, {"author": "nobody"})) == []


def test_ordering_created_at(anon, debate):
    expected = [debate[n].pk for n in ("t1", "t2", "t3")]

    assert ids(anon.get(THREADS, {"topic": "sora-leak", "ordering": "created_at"})) == expected
    assert ids(anon.get(THREADS, {"topic": "sora-leak", "ordering": "-created_at"})) == expected[::-1]


def test_ordering_by_reply_count(anon, debate, other):
    for _ in range(2):
        make_reply(thread=debate["t2"], author=other)
    make_reply(thread=debate["t1"], author=other)

    response = anon.get(THREADS, {"topic": "sora-leak", "ordering": "-reply_count"})

    assert ids(response) == [debate[n].pk for n in ("t2", "t1", "t3")]
    assert [t["reply_count"] for t in response.json()["results"]] == [3, 2, 1]


def test_ordering_by_last_activity(anon, debate, other):
    make_reply(thread=debate["t1"], author=other)  # the oldest thread is now the most active

    response = anon.get(THREADS, {"topic": "sora-leak", "ordering": "-last_activity_at"})

    assert ids(response) == [debate[n].pk for n in ("t1", "t3", "t2")]


def test_unknown_ordering_is_400(anon, debate):
    response = anon.get(THREADS, {"topic": "sora-leak", "ordering": "title"})

    assert response.status_code == 400
    assert "ordering" in response.json()


# --- detail ----------------------------------------------------------------------------------


def test_detail(anon, thread):
    response = anon.get(f"{THREADS}{thread.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= CONTRACT_FIELDS
    assert body["id"] == thread.pk
    assert (body["topic"], body["title"], body["body"], body["stance"], body["author"]) == (
        "sora-leak",
        "Unpaid labour",
        "Testers worked free.",
        "pro-tester",
        "alice",
    )
    assert (body["reply_count"], body["is_locked"], body["is_pinned"]) == (1, False, False)


def test_detail_reply_count_follows_replies(anon, thread, reply):
    assert anon.get(f"{THREADS}{thread.pk}/").json()["reply_count"] == 2


def test_detail_of_an_unknown_id_is_404(anon, thread):
    response = anon.get(f"{THREADS}{thread.pk + 1000}/")

    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "-1"])
def test_detail_of_a_non_numeric_id_is_a_json_404(anon, db, bad_id):
    response = anon.get(f"{THREADS}{bad_id}/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


# --- query budgets (anonymous, so no token lookup) -------------------------------------------


@pytest.mark.parametrize("n_threads", [3, 25])
def test_list_query_count_is_constant(anon, django_assert_num_queries, topic, n_threads):
    for i in range(n_threads):
        make_thread(topic=topic, author=UserFactory(), title=f"Thread {i}")

    # 1 count, 1 page of threads joined to topic, author and the opening reply's stance
    with django_assert_num_queries(2):
        response = anon.get(THREADS, {"topic": "sora-leak", "page_size": 100})

    assert len(response.json()["results"]) == n_threads


@pytest.mark.parametrize("ordering", ["created_at", "-created_at", "-reply_count", "-last_activity_at"])
def test_list_query_count_does_not_depend_on_ordering(anon, django_assert_num_queries, thread, ordering):
    # 1 count, 1 page with joins
    with django_assert_num_queries(2):
        response = anon.get(THREADS, {"topic": "sora-leak", "ordering": ordering})

    assert ids(response) == [thread.pk]


@pytest.mark.parametrize("n_replies", [3, 25])
def test_detail_query_count_is_constant(anon, django_assert_num_queries, thread, other, n_replies):
    for _ in range(n_replies):
        make_reply(thread=thread, author=other)

    # 1 thread joined to topic, author and the opening reply's stance
    with django_assert_num_queries(1):
        response = anon.get(f"{THREADS}{thread.pk}/")

    assert response.json()["reply_count"] == n_replies + 1
