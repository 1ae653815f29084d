"""An operator recounts every maintained counter: mismatches are named one per line and `--fix` repairs them."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from discussions import services
from discussions.models import DailyTally, Participation, Reply, Stance, StanceTally, Thread, Topic
from tests.clock import frozen_at
from tests.support.factories import UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db

CLEAN = "verify_tallies: every counter matches a recount."


def on(day: str):
    """Every write inside happens at noon UTC on `day`."""
    return frozen_at(datetime.datetime.fromisoformat(day).replace(hour=12, tzinfo=datetime.UTC))


def run(*args):
    """(exit code, stdout lines, stderr) of the command; a normal return is exit code 0."""
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_tallies", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue().splitlines(), err.getvalue()


def vote(user, reply, value):
    services.vote_cast(actor=user, reply_id=reply.pk, value=value)


def declare(user, stance, persuaded_by=None, topic_slug="sora-leak"):
    services.position_set(
        actor=user, topic_slug=topic_slug, stance_slug=stance, persuaded_by_id=persuaded_by.pk if persuaded_by else None
    )


@pytest.fixture
def debate(topic, rival_topic, author, other):
    """Every kind of write, spread over four days so the daily roll-ups have several rows to get right."""
    v1, v2, v3 = (UserFactory(username=f"v{i}") for i in range(1, 4))
    with on("2024-03-05"):
        thread = make_thread(topic=topic, author=author, stance="pro-tester")
        r1 = thread.opening_reply
        r2 = make_reply(thread=thread, author=other, stance="pro-openai")
        r3 = make_reply(thread=thread, author=v1, stance="pro-tester", parent=r2)
        declare(v2, "pro-tester")
        declare(v3, "pro-openai")
        rival = make_thread(topic=rival_topic, author=other, stance="pro-openai").opening_reply
    with on("2024-03-06"):
        for voter, reply, value in [(v1, r1, 1), (v2, r1, 1), (v3, r1, -1), (author, r2, 1), (v2, r2, -1)]:
            vote(voter, reply, value)
        vote(v1, r2, 1)
        vote(v1, r2, -1)  # a flip the same day
        declare(v3, "pro-tester", persuaded_by=r1)
        vote(v3, rival, 1)
        declare(v1, "pro-openai", topic_slug="rival-debate")
    with on("2024-03-07"):
        services.vote_retract(actor=v2, reply_id=r1.pk)
        services.reply_update(actor=other, reply_id=r2.pk, stance_slug="pro-tester")  # with its votes
        declare(v3, "pro-openai", persuaded_by=r3)
        services.reply_withdraw(actor=v1, reply_id=r3.pk)  # with its author's participation
        second = make_thread(topic=topic, author=other, stance="pro-openai")
    with on("2024-03-08"):
        vote(v1, r2, 1)  # flipped back a day later: the upvote belongs to the 8th
        vote(author, second.opening_reply, 1)
        make_reply(thread=second, author=v2, stance="pro-tester")
    return {"thread": thread, "second": second, "r1": r1, "r2": r2, "r3": r3}


def snapshot(client, debate):
    """Everything a reader sees of the maintained counters."""
    urls = [
        "/api/topics/sora-leak/summary/",
        "/api/topics/sora-leak/summary/history/",
        f"/api/threads/{debate['thread'].pk}/summary/",
        f"/api/threads/{debate['thread'].pk}/",
        f"/api/replies/{debate['r1'].pk}/",
        f"/api/replies/{debate['r2'].pk}/",
    ]
    return {url: client.get(url).json() for url in urls}


def test_normal_operations_leave_every_counter_matching(debate):
    code, out, err = run()

    assert (code, out, err) == (0, [CLEAN], "")


def test_an_empty_database_is_clean(db):
    assert run() == (0, [CLEAN], "")


def tally(topic, stance_slug, thread=None):
    stance = Stance.objects.get(topic=topic, slug=stance_slug)
    return StanceTally.objects.get(topic=topic, stance=stance, thread=thread)


# Each corruption changes rows with a queryset update() (no service, no signal) and returns the lines the
# command must print for it, worked out from the right values read first.


def corrupt_reply_upvotes(debate, topic):
    r1 = Reply.objects.get(pk=debate["r1"].pk)
    # score must move too: the database holds score = upvotes - downvotes.
    Reply.objects.filter(pk=r1.pk).update(upvotes=F("upvotes") + 5, score=F("score") + 5)
    return [
        f"reply {r1.pk}: upvotes is {r1.upvotes + 5}, recount gives {r1.upvotes}",
        f"reply {r1.pk}: score is {r1.score + 5}, recount gives {r1.score}",
    ]


def corrupt_votes_by_stance(debate, topic):
    r2 = debate["r2"]
    Reply.objects.filter(pk=r2.pk).update(
        votes_by_stance={"pro-tester": {"up": 7, "down": 0}, "pro-openai": {"up": 0, "down": 0}}
    )
    return [f"reply {r2.pk}: votes_by_stance is {{'pro-tester': {{'up': 7, 'down': 0}}}}, recount "]


def corrupt_thread_reply_count(debate, topic):
    thread = Thread.objects.get(pk=debate["thread"].pk)
    Thread.objects.filter(pk=thread.pk).update(reply_count=99)
    return [f"thread {thread.pk}: reply_count is 99, recount gives {thread.reply_count}"]


def corrupt_topic_participants(debate, topic):
    topic.refresh_from_db()
    Topic.objects.filter(pk=topic.pk).update(participant_count=42)
    return [f"topic sora-leak: participant_count is 42, recount gives {topic.participant_count}"]


def corrupt_stance_tally_upvotes(debate, topic):
    row = tally(topic, "pro-tester")
    StanceTally.objects.filter(pk=row.pk).update(upvotes=F("upvotes") + 3)
    label = f"stance tally topic {topic.pk} thread None stance {row.stance_id}"
    return [f"{label}: upvotes is {row.upvotes + 3}, recount gives {row.upvotes}"]


def corrupt_participation(debate, topic):
    author = debate["thread"].author
    row = Participation.objects.get(topic=topic, thread=None, stance=None, user=author)
    Participation.objects.filter(pk=row.pk).update(replies=7)
    return [f"participation topic {topic.pk} thread None stance None user {author.pk}: 7 != {row.replies}"]


def corrupt_daily_tally(debate, topic):
    stance = Stance.objects.get(topic=topic, slug="pro-tester")
    row = DailyTally.objects.get(topic=topic, stance=stance, day=datetime.date(2024, 3, 8))
    DailyTally.objects.filter(pk=row.pk).update(upvotes=F("upvotes") + 4)
    label = f"daily topic {topic.pk} stance {stance.pk} 2024-03-08"
    return [f"{label}: upvotes is {row.upvotes + 4}, recount gives {row.upvotes}"]


def delete_stance_tally(debate, topic):
    row = tally(topic, "pro-tester", thread=debate["thread"])
    row.delete()
    label = f"stance tally topic {topic.pk} thread {row.thread_id} stance {row.stance_id}"
    fields = ("replies", "participants", "upvotes", "downvotes", "positions")
    return [f"{label}: {f} is 0, recount gives {getattr(row, f)}" for f in fields if getattr(row, f)]


CORRUPTIONS = [
    corrupt_reply_upvotes,
    corrupt_votes_by_stance,
    corrupt_thread_reply_count,
    corrupt_topic_participants,
    corrupt_stance_tally_upvotes,
    corrupt_participation,
    corrupt_daily_tally,
    delete_stance_tally,
]


def assert_reported(out: list[str], expected: list[str]):
    """One line per mismatch, each naming its object; the votes_by_stance line is matched by its start."""
    assert len(out) == len(expected), out
    for want in expected:
        assert any(line == want or (want.endswith("recount ") and line.startswith(want)) for line in out), want


def test_the_fixture_corruptions_are_worked_out_from_real_numbers(debate, topic):
    """Pins the right values the expected lines are built from, so a wrong fixture cannot hide a bug."""
    # r1: v1 up (v2 retracted), v3 down; r2 (moved here): alice and v1 up, v2 down.
    assert (tally(topic, "pro-tester").upvotes, tally(topic, "pro-tester").downvotes) == (3, 2)
    assert Reply.objects.get(pk=debate["r1"].pk).upvotes == 1
    # v1's upvote on r2, cast again on the 8th.
    assert DailyTally.objects.get(topic=topic, day=datetime.date(2024, 3, 8), stance__slug="pro-tester").upvotes == 1
    row = tally(topic, "pro-tester", thread=debate["thread"])
    # r1 and r2 (moved from pro-openai); r3 withdrawn.
    assert (row.replies, row.participants, row.upvotes, row.downvotes) == (2, 2, 3, 2)


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
def test_a_corrupted_counter_is_reported_and_fixed(corrupt, debate, topic, anon):
    right = snapshot(anon, debate)
    expected = corrupt(debate, topic)

    code, out, err = run()

    assert code == 1
    assert_reported(out, expected)
    assert f"{len(expected)} mismatches found" in err

    _, fixed, _ = run("--fix")
    assert_reported(fixed, expected)  # what it repaired, line by line
    assert run() == (0, [CLEAN], "")
    assert snapshot(anon, debate) == right


def test_every_corruption_at_once_is_reported_and_fixed(debate, topic, anon):
    right = snapshot(anon, debate)
    expected = [line for corrupt in CORRUPTIONS for line in corrupt(debate, topic)]

    code, out, _ = run()

    assert code == 1
    assert_reported(out, expected)
    run("--fix")
    assert run() == (0, [CLEAN], "")
    assert snapshot(anon, debate) == right


# --- writes landing while it counts (PostgreSQL: SQLite's write transaction holds the whole database) ---------


@pytest.fixture
def mid_audit(monkeypatch):
    """Register writes to commit on another connection at the audit's first read of positions, which falls
    after its first query (the snapshot, on PostgreSQL) and before its recount of votes and its read of the
    replies' stored counters; each runs once."""
    import threading

    from django.db import connections

    from discussions import audit

    pending, real = [], audit.Position

    class Interleaved:
        @property
        def objects(self):
            while pending:
                write = pending.pop()

                def run(write=write):
                    try:
                        write()
                    finally:
                        connections.close_all()

                writer = threading.Thread(target=run)
                writer.start()
                writer.join()
            return real.objects

    monkeypatch.setattr(audit, "Position", Interleaved())
    return pending.append


@pytest.fixture
def vote_lands_mid_audit(mid_audit):
    return lambda user, reply: mid_audit(lambda: services.vote_cast(actor=user, reply_id=reply.pk, value=1))


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="on SQLite no write can land while the audit's transaction is open"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_vote_landing_mid_count_is_not_reported(vote_lands_mid_audit, reply, author):
    vote_lands_mid_audit(author, reply)

    code, out, err = run()

    assert (code, out) == (0, [CLEAN]), err
    assert Reply.objects.get(pk=reply.pk).upvotes == 1  # it landed, after the audit's snapshot
    assert run() == (0, [CLEAN], "")


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_repair_raced_by_a_vote_starts_again_and_both_count(vote_lands_mid_audit, reply, author, caplog):
    Reply.objects.filter(pk=reply.pk).update(upvotes=F("upvotes") + 5, score=F("score") + 5)  # wrong by 5
    vote_lands_mid_audit(author, reply)  # and a vote on that very row while --fix is at work

    code, out, _ = run("--fix")

    # The first attempt met the vote's row and rolled back; the second counted from after the vote.
    assert "a write raced the repair (attempt 1 of 3)" in caplog.text
    assert code == 1
    assert f"reply {reply.pk}: upvotes is 6, recount gives 1" in out
    assert Reply.objects.get(pk=reply.pk).upvotes == 1
    assert run() == (0, [CLEAN], "")


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_repair_creating_a_row_a_new_reply_creates_meanwhile_starts_again(mid_audit, reply, thread, caplog):
    lost = StanceTally.objects.filter(thread=thread, stance__slug="pro-openai")
    lost.delete()  # a missing counter row, which --fix creates
    mid_audit(lambda: make_reply(thread=thread, author=UserFactory(username="late"), stance="pro-openai"))

    code, out, _ = run("--fix")

    # The post created the row after the audit's snapshot: the audit's INSERT met it (23505) and rolled back;
    # the second attempt found the row holding the new reply alone and set it from the recount.
    assert "a write raced the repair (attempt 1 of 3)" in caplog.text
    assert code == 1
    assert any(line.startswith(f"stance tally topic {thread.topic_id} thread {thread.pk}") for line in out), out
    assert lost.get().replies == 2
    assert run() == (0, [CLEAN], "")


def test_a_new_topic_and_a_new_thread_have_one_zeroed_tally_per_stance(topic, rival_topic, author):
    # Born with their rows, so a first reply finds every tally it moves and never creates one under
    # the locks it holds (the deadlock two racing first replies once met).
    thread = make_thread(topic=topic, author=author, stance="pro-tester")
    rows = StanceTally.objects.filter(topic=topic).order_by(F("thread_id").asc(nulls_first=True), "stance__position")
    assert [(t.thread_id, t.stance.slug, t.replies) for t in rows] == [
        (None, "pro-tester", 1),
        (None, "pro-openai", 0),
        (thread.pk, "pro-tester", 1),
        (thread.pk, "pro-openai", 0),
    ]
    assert StanceTally.objects.filter(topic=rival_topic, thread=None).count() == 2


def test_the_upgrade_creates_the_tallies_older_data_lacks(topic, author):
    import importlib

    from django.apps import apps

    thread = make_thread(topic=topic, author=author, stance="pro-tester")
    StanceTally.objects.filter(topic=topic, replies=0).delete()  # as a first reply used to leave them
    upgrade = importlib.import_module("discussions.migrations.0016_every_stance_tally_row")
    upgrade.create_missing_tallies(apps, connection.schema_editor())

    assert set(StanceTally.objects.filter(topic=topic).values_list("thread_id", "stance__slug")) == {
        (t, s) for t in (None, thread.pk) for s in ("pro-tester", "pro-openai")
    }
    assert run() == (0, [CLEAN], "")
