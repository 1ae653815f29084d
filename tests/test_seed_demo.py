"""seed_demo: a realistic debate of the size asked, exact counters, reproducible from its seed, extendable.

Counts are what one run adds: --users accounts, --threads threads, --replies replies (opening posts and
withdrawn replies included) and --votes vote rows (retracted ones included).
"""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from bench.demo.planning import latest_activity
from discussions.audit import tallies_audit
from discussions.models import Position, Reply, Thread, Topic, Vote
from tests.support.factories import TopicFactory
from tests.test_analyzing_tables import analysed_rows

pytestmark = pytest.mark.django_db

User = get_user_model()
SIZE = {"users": 30, "threads": 5, "replies": 120, "votes": 600, "seed": 7}
STANCES = ["pro-tester", "pro-openai"]


def seed_demo(topic: str, **size) -> str:
    out = StringIO()
    call_command("seed_demo", topic=topic, no_progress=True, stdout=out, stderr=StringIO(), **(SIZE | size))
    return out.getvalue()


def rows(slug: str) -> dict:
    return {
        "users": User.objects.filter(username__startswith=f"demo-{slug}-").count(),
        "threads": Thread.objects.filter(topic__slug=slug).count(),
        "replies": Reply.objects.filter(topic__slug=slug).count(),
        "votes": Vote.objects.filter(reply__topic__slug=slug).count(),
    }


def fingerprint(slug: str) -> dict:
    """The debate with ids replaced by positions and usernames by their numbers: equal for equal content."""
    prefix = f"demo-{slug}-"
    threads = list(Thread.objects.filter(topic__slug=slug).order_by("created_at", "id").select_related("author"))
    replies = list(
        Reply.objects.filter(topic__slug=slug).order_by("created_at", "id").select_related("author", "stance")
    )
    thread_at = {t.pk: i for i, t in enumerate(threads)}
    reply_at = {r.pk: i for i, r in enumerate(replies)}
    votes = Vote.objects.filter(reply__topic__slug=slug).select_related("user", "voter_stance")
    positions = Position.objects.filter(topic__slug=slug).select_related("user", "stance")
    return {
        "threads": [(t.title, t.created_at, t.reply_count, t.author.username.removeprefix(prefix)) for t in threads],
        "replies": [
            (
                thread_at[r.thread_id],
                reply_at.get(r.parent_id),
                r.author.username.removeprefix(prefix),
                r.stance.slug,
                r.state,
                r.created_at,
                r.withdrawn_at,
                r.body,
                r.upvotes,
                r.downvotes,
            )
            for r in replies
        ],
        "votes": sorted(
            (
                v.user.username.removeprefix(prefix),
                reply_at[v.reply_id],
                v.value,
                v.voter_stance.slug if v.voter_stance else "",
                v.cast_at,
                str(v.retracted_at),
            )
            for v in votes
        ),
        "positions": sorted(
            (
                p.user.username.removeprefix(prefix),
                p.stance.slug,
                p.since,
                str(p.until),
                reply_at.get(p.persuaded_by_id),
            )
            for p in positions
        ),
    }


def test_it_creates_the_topic_with_both_stances_and_exactly_the_rows_asked():
    output = seed_demo("demo")

    topic = Topic.objects.get(slug="demo")
    assert list(topic.stances.order_by("position").values_list("slug", flat=True)) == STANCES
    assert rows("demo") == {"users": 30, "threads": 5, "replies": 120, "votes": 600}
    assert "tallies_audit() → []" in output
    assert Reply.objects.filter(topic=topic, state=Reply.State.WITHDRAWN).exists()
    assert Vote.objects.filter(reply__topic=topic, retracted_at__isnull=False).exists()
    assert not any(u.has_usable_password() for u in User.objects.filter(username__startswith="demo-demo-"))
    for thread in Thread.objects.filter(topic=topic).select_related("opening_reply"):
        first = Reply.objects.filter(thread=thread).order_by("created_at", "id").first()
        assert thread.opening_reply == first and first.parent_id is None and first.author_id == thread.author_id


def test_activity_is_skewed_towards_a_few_users():
    seed_demo("demo")

    per_user = sorted(
        Reply.objects.filter(topic__slug="demo").values("author").annotate(n=Count("id")).values_list("n", flat=True)
    )
    # The busiest author writes far more than the median one.
    assert per_user[-1] >= 4 * per_user[len(per_user) // 2]


def test_replies_nest_and_every_parent_is_in_the_same_thread():
    seed_demo("demo")

    answers = Reply.objects.filter(topic__slug="demo", parent__isnull=False).select_related("parent")
    assert answers.exists()
    assert all(r.parent.thread_id == r.thread_id and r.parent.created_at <= r.created_at for r in answers)
    assert answers.filter(parent__parent__isnull=False).exists()  # deeper than one level


def test_each_side_gets_votes_from_voters_of_both_sides():
    seed_demo("demo")

    pairs = set(
        Vote.objects.filter(reply__topic__slug="demo", voter_stance__isnull=False).values_list(
            "reply__stance__slug", "voter_stance__slug"
        )
    )
    assert pairs == {(a, b) for a in STANCES for b in STANCES}
    assert not any(v.user_id == v.reply.author_id for v in Vote.objects.select_related("reply"))


def test_voter_stance_is_what_the_services_would_have_recorded():
    """Declared position at the vote, else the voter's latest reply visible then, else none."""
    seed_demo("demo")

    positions = list(Position.objects.filter(topic__slug="demo"))
    replies = list(Reply.objects.filter(topic__slug="demo").order_by("-created_at", "-id"))

    def side(user_id, moment):
        for p in positions:
            if p.user_id == user_id and p.since <= moment and (p.until is None or p.until > moment):
                return p.stance_id
        for r in replies:
            gone = r.withdrawn_at
            if r.author_id == user_id and r.created_at <= moment and (gone is None or gone > moment):
                return r.stance_id
        return None

    votes = Vote.objects.filter(reply__topic__slug="demo")
    assert all(v.voter_stance_id == side(v.user_id, v.cast_at) for v in votes)
    assert votes.filter(voter_stance__isnull=True).count() < votes.count() / 2


def test_some_people_change_their_mind_some_persuaded_by_a_reply():
    seed_demo("demo", users=60)

    topic = Topic.objects.get(slug="demo")
    assert topic.shift_count > 0
    persuaded = Position.objects.filter(topic=topic, persuaded_by__isnull=False).select_related("persuaded_by")
    assert persuaded.exists()
    for position in persuaded:
        reply = position.persuaded_by
        assert reply.topic_id == topic.pk and reply.stance_id == position.stance_id and reply.is_visible
        assert reply.created_at < position.since
    # Every history is a chain: each position ends where the next begins, and only the last is open.
    for user_id in Position.objects.filter(topic=topic).values_list("user_id", flat=True).distinct():
        history = list(Position.objects.filter(topic=topic, user_id=user_id).order_by("since"))
        assert [p.until for p in history[:-1]] == [p.since for p in history[1:]]
        assert history[-1].until is None


def test_counters_are_exact_and_the_summary_matches_a_recount(anon):
    seed_demo("demo")

    assert tallies_audit() == []
    body = anon.get("/api/topics/demo/summary/").json()
    visible = Reply.objects.filter(topic__slug="demo", state=Reply.State.VISIBLE)
    active = Vote.objects.filter(reply__in=visible, retracted_at=None)
    assert body["replies"] == visible.count()
    assert body["participants"] == visible.values("author").distinct().count()
    assert body["votes"] == active.count()
    open_positions = Position.objects.filter(topic__slug="demo", until=None)
    all_positions = Position.objects.filter(topic__slug="demo")
    assert body["shifts"] == all_positions.count() - all_positions.values("user").distinct().count()
    for row in body["stances"]:
        mine = active.filter(reply__stance__slug=row["stance"])
        assert row["replies"] == visible.filter(stance__slug=row["stance"]).count()
        assert (row["upvotes"], row["downvotes"]) == (mine.filter(value=1).count(), mine.filter(value=-1).count())
        assert row["positions"] == open_positions.filter(stance__slug=row["stance"]).count()


def test_the_planner_has_statistics_on_the_rows_just_loaded():
    """After a COPY with no ANALYZE the planner took 48k replies for 3 rows; seed_demo analyses what it wrote."""
    seed_demo("demo")

    assert analysed_rows(Reply._meta.db_table) == 120
    assert analysed_rows(Vote._meta.db_table) == 600
    assert analysed_rows(Thread._meta.db_table) == 5
    assert analysed_rows(User._meta.db_table) == User.objects.count()


def test_the_same_seed_gives_the_same_debate():
    seed_demo("first")
    seed_demo("second")
    seed_demo("third", seed=8)

    assert fingerprint("first") == fingerprint("second")
    assert fingerprint("first") != fingerprint("third")


def vote_stamps(slug: str) -> list:
    prefix = f"demo-{slug}-"
    votes = Vote.objects.filter(reply__topic__slug=slug).select_related("user")
    return sorted((v.user.username.removeprefix(prefix), v.cast_at, v.updated_at, str(v.retracted_at)) for v in votes)


def test_copy_and_executemany_write_the_same_rows(monkeypatch):
    """PostgreSQL seeds with COPY, SQLite with executemany: the rows must not depend on the path."""
    from bench.demo import writing

    seed_demo("copied")
    by_default = writing.load
    monkeypatch.setattr(writing, "load", lambda *args, **kwargs: by_default(*args, **kwargs, copy=False))
    seed_demo("inserted")

    assert fingerprint("copied") == fingerprint("inserted")
    assert vote_stamps("copied") == vote_stamps("inserted")
    retracted = Vote.objects.filter(reply__topic__slug="inserted", retracted_at__isnull=False)
    assert retracted.exists() and all(v.updated_at == v.retracted_at for v in retracted)


def test_running_again_extends_the_topic_and_keeps_it_exact(reply):
    """On the seeded topic, beside replies written through the services; later runs also vote on earlier replies."""
    slug = reply.topic.slug
    seed_demo(slug)
    before = rows(slug)
    last = latest_activity(Topic.objects.get(slug=slug))

    seed_demo(slug, users=10, threads=3, replies=40, votes=300, seed=8)

    assert rows(slug) == {
        "users": before["users"] + 10,
        "threads": before["threads"] + 3,
        "replies": before["replies"] + 40,
        "votes": before["votes"] + 300,
    }
    assert User.objects.filter(username=f"demo-{slug}-40").exists()  # numbering goes on from 31
    # The new activity comes after the old, and some of the new votes go to earlier replies.
    assert Reply.objects.filter(topic__slug=slug, created_at__gt=last).count() == 40
    new_votes = Vote.objects.filter(reply__topic__slug=slug, cast_at__gt=last)
    assert new_votes.count() == 300
    assert new_votes.filter(reply__created_at__lt=last).exists()
    assert tallies_audit() == []


def test_a_topic_with_other_stances_is_refused():
    TopicFactory(slug="elsewhere", stances=(("for", "For"), ("against", "Against")))

    with pytest.raises(CommandError, match="stances"):
        seed_demo("elsewhere")
    assert rows("elsewhere")["users"] == 0


@pytest.mark.parametrize(
    ("size", "message"),
    [({"users": 3, "votes": 10_000}, "do not fit"), ({"threads": 10, "replies": 5}, "opening posts")],
)
def test_impossible_sizes_are_refused_before_writing_anything(size, message):
    with pytest.raises(CommandError, match=message):
        seed_demo("demo", **size)
    assert not Topic.objects.filter(slug="demo").exists()
