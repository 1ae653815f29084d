"""A chart of the debate over time: per day or week and per stance, new replies, upvotes and positions held."""

import datetime

import pytest

from discussions import services
from discussions.models import Reply
from tests.clock import frozen_at
from tests.support.factories import UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db

URL = "/api/topics/sora-leak/summary/history/"


def on(day: str, hour: int = 12):
    """Every write inside happens at `hour` UTC on `day`."""
    return frozen_at(datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=datetime.UTC))


def declare(user, stance, topic_slug="sora-leak"):
    services.position_set(actor=user, topic_slug=topic_slug, stance_slug=stance)


def cast(user, reply, value):
    services.vote_cast(actor=user, reply_id=reply.pk, value=value)


def row(stance, replies=0, upvotes=0, positions=0):
    return {"stance": stance, "replies": replies, "upvotes": upvotes, "positions": positions}


def history(client, bucket="day", url=URL):
    response = client.get(url, {"bucket": bucket})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_time_patch_reaches_the_model_defaults(topic, author):
    """Guards the helper above: without it every row below would land on today."""
    with on("2024-03-05", hour=10):
        reply = make_thread(topic=topic, author=author).opening_reply
    reply.refresh_from_db()
    assert reply.created_at == datetime.datetime(2024, 3, 5, 10, tzinfo=datetime.UTC)


@pytest.fixture
def debate(topic, rival_topic, author, other):
    """Activity on Tue 5, Thu 7 and Tue 19 March 2024; every bucket below is worked out from it."""
    v1, v2, v3, v4 = (UserFactory(username=f"v{i}") for i in range(1, 5))
    with on("2024-03-01"):  # the rival topic, before and after: it must not stretch this topic's range
        rival = make_thread(topic=rival_topic, author=other, stance="pro-openai").opening_reply
        declare(v4, "pro-tester", "rival-debate")
    with on("2024-03-25"):
        cast(v1, rival, 1)
        make_reply(thread=rival.thread, author=other, stance="pro-tester")

    with on("2024-03-05"):
        thread = make_thread(topic=topic, author=author, stance="pro-tester")  # r1
        r2 = make_reply(thread=thread, author=other, stance="pro-openai")
        declare(author, "pro-tester")
    with on("2024-03-07"):
        cast(v1, thread.opening_reply, 1)
        cast(v2, thread.opening_reply, 1)
        cast(v1, r2, 1)
        declare(other, "pro-openai")
        declare(v3, "pro-tester")
        declare(v3, "pro-openai")  # taken and left the same day: only the new side stays counted
    with on("2024-03-19"):
        declare(author, "pro-openai")
        r3 = make_reply(thread=thread, author=v3, stance="pro-tester")
        cast(v4, r3, 1)
        cast(v2, r2, -1)  # a down vote is no upvote
    return {"thread": thread, "r2": r2, "r3": r3, "users": (v1, v2, v3, v4)}


def days(first: str, last: str) -> list[str]:
    start, end = datetime.date.fromisoformat(first), datetime.date.fromisoformat(last)
    return [(start + datetime.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def test_day_buckets_are_dense_and_exact(debate, anon):
    body = history(anon, "day")

    # 5 to 19 March, every day, oldest first: a chart's x axis has no holes.
    assert [b["start"] for b in body] == days("2024-03-05", "2024-03-19")
    by_day = {b["start"]: b["stances"] for b in body}
    assert by_day["2024-03-05"] == [row("pro-tester", replies=1, positions=1), row("pro-openai", replies=1)]
    assert by_day["2024-03-06"] == [row("pro-tester", positions=1), row("pro-openai")]
    assert by_day["2024-03-07"] == [
        row("pro-tester", upvotes=2, positions=1),  # v3 came and went the same day
        row("pro-openai", upvotes=1, positions=2),  # other and v3
    ]
    assert by_day["2024-03-19"] == [
        row("pro-tester", replies=1, upvotes=1, positions=0),  # alice left for pro-openai
        row("pro-openai", positions=3),
    ]
    # The quiet days in between carry the positions held and nothing else.
    for day in days("2024-03-08", "2024-03-18"):
        assert by_day[day] == [row("pro-tester", positions=1), row("pro-openai", positions=2)], day


def test_week_buckets_start_on_mondays(debate, anon):
    body = history(anon, "week")

    assert body == [
        {
            "start": "2024-03-04",  # Monday of the week of the 5th and the 7th
            "stances": [row("pro-tester", 1, 2, 1), row("pro-openai", 1, 1, 2)],
        },
        {"start": "2024-03-11", "stances": [row("pro-tester", 0, 0, 1), row("pro-openai", 0, 0, 2)]},  # quiet
        {"start": "2024-03-18", "stances": [row("pro-tester", 1, 1, 0), row("pro-openai", 0, 0, 3)]},
    ]
    assert all(datetime.date.fromisoformat(b["start"]).weekday() == 0 for b in body)


def test_day_is_the_default_bucket(debate, anon):
    response = anon.get(URL)

    assert response.status_code == 200
    assert response.json() == history(anon, "day")


def test_the_rival_topic_has_its_own_history(debate, anon):
    body = history(anon, "day", url="/api/topics/rival-debate/summary/history/")

    assert [b["start"] for b in body] == days("2024-03-01", "2024-03-25")
    assert body[0]["stances"] == [row("pro-tester", positions=1), row("pro-openai", replies=1)]
    assert body[-1]["stances"] == [row("pro-tester", replies=1, positions=1), row("pro-openai", upvotes=1)]


def test_a_withdrawn_reply_leaves_the_day_it_was_posted_with_its_upvotes(debate, anon):
    r2 = debate["r2"]  # posted on the 5th, upvoted by v1 on the 7th
    with on("2024-03-20"):
        services.reply_withdraw(actor=r2.author, reply_id=r2.pk)

    by_day = {b["start"]: b["stances"] for b in history(anon, "day")}

    assert by_day["2024-03-05"][1] == row("pro-openai", replies=0, positions=0)
    assert by_day["2024-03-07"][1] == row("pro-openai", upvotes=0, positions=2)
    # The withdrawal itself is no activity: the range still ends on the 19th.
    assert max(by_day) == "2024-03-19"


def test_a_withdrawn_reply_upvoted_on_its_own_day_leaves_that_bucket(topic, author, other, anon):
    voter = UserFactory(username="voter")
    with on("2024-04-02"):
        thread = make_thread(topic=topic, author=author, stance="pro-tester")
        doomed = make_reply(thread=thread, author=other, stance="pro-tester")
        cast(voter, doomed, 1)
        cast(other, thread.opening_reply, 1)
    assert history(anon)[0]["stances"][0] == row("pro-tester", replies=2, upvotes=2)

    with on("2024-04-03"):
        services.reply_withdraw(actor=other, reply_id=doomed.pk)

    assert history(anon) == [{"start": "2024-04-02", "stances": [row("pro-tester", 1, 1), row("pro-openai")]}]


def test_a_retracted_upvote_leaves_the_day_it_was_cast(debate, anon):
    v1 = debate["users"][0]
    with on("2024-03-19"):
        services.vote_retract(actor=v1, reply_id=debate["thread"].opening_reply_id)

    by_day = {b["start"]: b["stances"] for b in history(anon, "day")}

    assert by_day["2024-03-07"][0] == row("pro-tester", upvotes=1, positions=1)
    assert by_day["2024-03-19"][0] == row("pro-tester", replies=1, upvotes=1)  # v4's vote on r3 only


def test_an_edit_of_the_stance_moves_the_reply_and_its_upvotes(debate, anon):
    r2 = debate["r2"]
    with on("2024-03-19"):
        services.reply_update(actor=r2.author, reply_id=r2.pk, stance_slug="pro-tester")

    by_day = {b["start"]: b["stances"] for b in history(anon, "day")}

    assert by_day["2024-03-05"] == [row("pro-tester", replies=2, positions=1), row("pro-openai")]
    assert by_day["2024-03-07"] == [row("pro-tester", upvotes=3, positions=1), row("pro-openai", positions=2)]


def test_an_unknown_bucket_is_400_naming_bucket(debate, anon):
    response = anon.get(URL, {"bucket": "year"})

    assert response.status_code == 400
    assert list(response.json()) == ["bucket"]


def test_an_empty_topic_has_an_empty_history(topic, anon):
    assert history(anon, "day") == []
    assert history(anon, "week") == []


def test_an_unknown_topic_is_404(anon):
    assert anon.get("/api/topics/no-such-topic/summary/history/").status_code == 404


def test_replies_count_in_the_day_they_were_posted_not_when_the_thread_was_opened(topic, author, anon):
    with on("2024-05-06", hour=23):
        thread = make_thread(topic=topic, author=author, stance="pro-openai")
    with on("2024-05-07", hour=0):  # one hour later, the next UTC day
        make_reply(thread=thread, author=author, stance="pro-openai")

    assert history(anon) == [
        {"start": "2024-05-06", "stances": [row("pro-tester"), row("pro-openai", replies=1)]},
        {"start": "2024-05-07", "stances": [row("pro-tester"), row("pro-openai", replies=1)]},
    ]
    assert Reply.objects.filter(topic=topic).count() == 2
