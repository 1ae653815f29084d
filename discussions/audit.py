"""Recount every maintained counter from the raw rows, report each mismatch and optionally repair it."""

import logging
import math
from collections import Counter, defaultdict

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate

from discussions.models import DailyTally, Participation, Position, Reply, Stance, StanceTally, Thread, Topic, Vote
from discussions.ranking import bridging, controversy, wilson_lower_bound
from discussions.summary_cache import summary_invalidate

log = logging.getLogger(__name__)

BATCH = 2000
VISIBLE = Reply.State.VISIBLE


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _compare(label: str, stored: dict, expected: dict, report: list) -> dict:
    """Fields whose stored value differs from the recount, each reported; returns {field: expected}."""
    changes = {}
    for field, want in expected.items():
        have = stored[field]
        if not _same(have, want):
            report.append(f"{label}: {field} is {have!r}, recount gives {want!r}")
            changes[field] = want
    return changes


def _nonzero(votes_by_stance: dict) -> dict:
    return {k: v for k, v in votes_by_stance.items() if v.get("up") or v.get("down")}


def _audit_replies(report: list, fix: bool) -> None:
    tally = defaultdict(lambda: [0, 0])
    by_stance = defaultdict(lambda: defaultdict(lambda: {"up": 0, "down": 0}))
    active = Vote.objects.filter(retracted_at=None)
    for reply_id, value, n in active.values_list("reply_id", "value").annotate(n=Count("id")):
        tally[reply_id][0 if value == 1 else 1] += n
    rows = active.exclude(voter_stance=None).values_list("reply_id", "voter_stance__slug", "value")
    for reply_id, slug, value, n in rows.annotate(n=Count("id")):
        by_stance[reply_id][slug]["up" if value == 1 else "down"] += n
    persuaded = dict(Position.objects.exclude(persuaded_by=None).values_list("persuaded_by_id").annotate(n=Count("id")))
    slugs = defaultdict(list)
    for topic_id, slug in Stance.objects.order_by("position", "id").values_list("topic_id", "slug"):
        slugs[topic_id].append(slug)

    fields = [
        "upvotes",
        "downvotes",
        "score",
        "wilson",
        "controversy",
        "bridging",
        "votes_by_stance",
        "persuaded_count",
    ]
    for reply in Reply.objects.only("id", "topic_id", *fields).order_by("pk").iterator(chunk_size=BATCH):
        up, down = tally.get(reply.pk, (0, 0))
        votes = {k: dict(v) for k, v in by_stance.get(reply.pk, {}).items()}
        expected = {
            "upvotes": up,
            "downvotes": down,
            "score": up - down,
            "wilson": wilson_lower_bound(up, down),
            "controversy": controversy(up, down),
            "bridging": bridging({k: (v["up"], v["down"]) for k, v in votes.items()}, slugs[reply.topic_id]),
            "persuaded_count": persuaded.get(reply.pk, 0),
        }
        stored = {f: getattr(reply, f) for f in expected}
        changes = _compare(f"reply {reply.pk}", stored, expected, report)
        if _nonzero(reply.votes_by_stance) != votes:
            report.append(f"reply {reply.pk}: votes_by_stance is {_nonzero(reply.votes_by_stance)}, recount {votes}")
            changes["votes_by_stance"] = {s: votes.get(s, {"up": 0, "down": 0}) for s in slugs[reply.topic_id]} | votes
        if fix and changes:
            # One UPDATE of just the wrong fields per row: bulk_update's CASE per row and field is far
            # slower to build than this is to run (about 6x at 20k replies, measured in bench/).
            Reply.objects.filter(pk=reply.pk).update(**changes)


def _audit_threads_and_topics(report: list, fix: bool) -> None:
    visible = Reply.objects.filter(state=VISIBLE)
    thread_counts = {
        row["thread_id"]: row
        for row in visible.values("thread_id").annotate(r=Count("id"), p=Count("author_id", distinct=True))
    }
    for thread in Thread.objects.only("id", "reply_count", "participant_count").iterator(chunk_size=BATCH):
        row = thread_counts.get(thread.pk, {"r": 0, "p": 0})
        expected = {"reply_count": row["r"], "participant_count": row["p"]}
        changes = _compare(f"thread {thread.pk}", {f: getattr(thread, f) for f in expected}, expected, report)
        if fix and changes:
            Thread.objects.filter(pk=thread.pk).update(**changes)

    topic_counts = {
        row["topic_id"]: row
        for row in visible.values("topic_id").annotate(r=Count("id"), p=Count("author_id", distinct=True))
    }
    threads = dict(Thread.objects.values_list("topic_id").annotate(n=Count("id")))
    positions = Position.objects.values("topic_id").annotate(n=Count("id"), users=Count("user_id", distinct=True))
    shifts = {row["topic_id"]: row["n"] - row["users"] for row in positions}
    for topic in Topic.objects.all():
        row = topic_counts.get(topic.pk, {"r": 0, "p": 0})
        expected = {
            "reply_count": row["r"],
            "participant_count": row["p"],
            "thread_count": threads.get(topic.pk, 0),
            "shift_count": shifts.get(topic.pk, 0),
        }
        changes = _compare(f"topic {topic.slug}", {f: getattr(topic, f) for f in expected}, expected, report)
        if fix and changes:
            Topic.objects.filter(pk=topic.pk).update(**changes)


def _audit_stance_tallies(report: list, fix: bool) -> None:
    visible = Reply.objects.filter(state=VISIBLE)
    expected = defaultdict(lambda: {"replies": 0, "participants": 0, "upvotes": 0, "downvotes": 0, "positions": 0})
    aggregates = {"n": Count("id"), "p": Count("author_id", distinct=True)}
    for scope in (("topic_id", "stance_id"), ("topic_id", "thread_id", "stance_id")):
        for row in visible.values(*scope).annotate(**aggregates).order_by():
            key = (row["topic_id"], row.get("thread_id"), row["stance_id"])
            expected[key].update(replies=row["n"], participants=row["p"])
    # Votes are recounted from the vote rows, not from the replies' own (possibly wrong) counters.
    votes = Vote.objects.filter(retracted_at=None, reply__state=VISIBLE).values_list(
        "reply__topic_id", "reply__thread_id", "reply__stance_id", "value"
    )
    for topic_id, thread_id, stance_id, value, n in votes.annotate(n=Count("id")).order_by():
        field = "upvotes" if value == 1 else "downvotes"
        expected[(topic_id, None, stance_id)][field] += n
        expected[(topic_id, thread_id, stance_id)][field] += n
    current = Position.objects.filter(until=None).values_list("topic_id", "stance_id").annotate(n=Count("id"))
    for topic_id, stance_id, n in current:
        expected[(topic_id, None, stance_id)]["positions"] = n

    stored = {(t.topic_id, t.thread_id, t.stance_id): t for t in StanceTally.objects.all()}
    zero = {"replies": 0, "participants": 0, "upvotes": 0, "downvotes": 0, "positions": 0}
    for key in set(expected) | set(stored):
        row = stored.get(key)
        have = {f: getattr(row, f) for f in zero} if row else dict(zero)
        label = f"stance tally topic {key[0]} thread {key[1]} stance {key[2]}"
        changes = _compare(label, have, expected.get(key, zero), report)
        if fix and changes:
            if row is None:
                StanceTally.objects.create(topic_id=key[0], thread_id=key[1], stance_id=key[2], **changes)
            else:
                StanceTally.objects.filter(pk=row.pk).update(**changes)


def _audit_participations(report: list, fix: bool) -> None:
    visible = Reply.objects.filter(state=VISIBLE)
    expected = Counter()
    for scope in (
        ("topic_id",),
        ("topic_id", "stance_id"),
        ("topic_id", "thread_id"),
        ("topic_id", "thread_id", "stance_id"),
    ):
        for row in visible.values(*scope, "author_id").annotate(n=Count("id")).order_by():
            key = (row["topic_id"], row.get("thread_id"), row.get("stance_id"), row["author_id"])
            expected[key] = row["n"]
    # (pk, replies) by key as plain tuples: a model instance per row held ~900k objects at 5M votes, most of
    # seed_demo's peak memory.
    rows = Participation.objects.values_list("topic_id", "thread_id", "stance_id", "user_id", "pk", "replies")
    stored = {(t, th, s, u): (pk, n) for t, th, s, u, pk, n in rows.iterator(chunk_size=BATCH)}
    missing = []
    for key in set(expected) | set(stored):
        row = stored.get(key)
        have, want = (row[1] if row else 0), expected.get(key, 0)
        if have != want:
            report.append(
                f"participation topic {key[0]} thread {key[1]} stance {key[2]} user {key[3]}: {have} != {want}"
            )
            if fix and row is None:
                missing.append(
                    Participation(topic_id=key[0], thread_id=key[1], stance_id=key[2], user_id=key[3], replies=want)
                )
            elif fix:
                Participation.objects.filter(pk=row[0]).update(replies=want)
    if missing:
        Participation.objects.bulk_create(missing, batch_size=BATCH)


def _audit_daily(report: list, fix: bool) -> None:
    expected = defaultdict(lambda: {"replies": 0, "upvotes": 0, "positions_delta": 0})
    visible = Reply.objects.filter(state=VISIBLE)
    for topic_id, stance_id, day, n in (
        visible.annotate(day=TruncDate("created_at"))
        .values_list("topic_id", "stance_id", "day")
        .annotate(n=Count("id"))
    ):
        expected[(topic_id, stance_id, day)]["replies"] = n
    upvotes = Vote.objects.filter(retracted_at=None, value=1, reply__state=VISIBLE).annotate(day=TruncDate("cast_at"))
    for topic_id, stance_id, day, n in upvotes.values_list("reply__topic_id", "reply__stance_id", "day").annotate(
        n=Count("id")
    ):
        expected[(topic_id, stance_id, day)]["upvotes"] = n
    positions = Position.objects.annotate(start=TruncDate("since"), end=TruncDate("until"))
    for topic_id, stance_id, start, end in positions.values_list("topic_id", "stance_id", "start", "end"):
        expected[(topic_id, stance_id, start)]["positions_delta"] += 1
        if end is not None:
            expected[(topic_id, stance_id, end)]["positions_delta"] -= 1

    stored = {(d.topic_id, d.stance_id, d.day): d for d in DailyTally.objects.all().iterator(chunk_size=BATCH)}
    zero = {"replies": 0, "upvotes": 0, "positions_delta": 0}
    for key in set(expected) | set(stored):
        row = stored.get(key)
        have = {f: getattr(row, f) for f in zero} if row else dict(zero)
        changes = _compare(f"daily topic {key[0]} stance {key[1]} {key[2]}", have, expected.get(key, zero), report)
        if fix and changes:
            DailyTally.objects.update_or_create(topic_id=key[0], stance_id=key[1], day=key[2], defaults=changes)


# Errors that mean a write raced this transaction, which rolled back whole: a row it read changed since its
# snapshot (40001), a row it was creating appeared meanwhile (23505), or two writers locked in turn (40P01).
RACED = {"40001", "23505", "40P01"}


def _one_snapshot() -> None:
    """Have every read of the transaction just begun see one snapshot (PostgreSQL's REPEATABLE READ)."""
    # Under READ COMMITTED each query sees its own snapshot, so a vote landing between the recount and the
    # read of the stored counter looked like a mismatch. With one snapshot nothing races the counts, and a
    # repair that meets a row changed since fails with a serialization error instead of writing a stale
    # count. SQLite needs nothing: its write transaction (BEGIN IMMEDIATE) already holds the whole database.
    with transaction.get_connection().cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def tallies_audit(*, fix: bool = False, attempts: int = 3) -> list[str]:
    """Recount replies, threads, topics, stance tallies, participations and daily roll-ups; fix if asked."""
    connection = transaction.get_connection()
    # Only a transaction of its own can choose its isolation and start again; inside a caller's, the
    # caller's isolation stands and a race is the caller's to handle.
    own = connection.get_autocommit() and not connection.in_atomic_block
    attempt = 1
    while True:
        try:
            return _audit(fix, one_snapshot=own and connection.vendor == "postgresql")
        except (OperationalError, IntegrityError) as exc:
            if not own or getattr(exc.__cause__, "sqlstate", None) not in RACED or attempt == attempts:
                raise
            log.warning("tallies_audit: a write raced the repair (attempt %s of %s); starting again", attempt, attempts)
            attempt += 1


def _audit(fix: bool, *, one_snapshot: bool) -> list[str]:
    report: list[str] = []
    with transaction.atomic():  # a repair lands whole or not at all
        if one_snapshot:
            _one_snapshot()
        _audit_replies(report, fix)
        _audit_threads_and_topics(report, fix)
        _audit_stance_tallies(report, fix)
        _audit_participations(report, fix)
        _audit_daily(report, fix)
        if fix and report:
            for topic_id in Topic.objects.values_list("pk", flat=True):
                summary_invalidate(topic_id)  # repaired tallies must not hide behind cached summaries
    return report
