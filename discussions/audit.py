"""Recount every maintained counter from the raw rows, report each mismatch and optionally repair it."""

import functools
import json
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


def _decoded(value):
    """A JSON column's value as a raw query gives it: text on SQLite (and as Django has psycopg load it)."""
    return json.loads(value) if isinstance(value, str) else value


def _nonzero(votes_by_stance: dict) -> dict:
    return {k: v for k, v in votes_by_stance.items() if v.get("up") or v.get("down")}


def _stream(sql: str, params=()):
    """The rows of a query, fetched a batch at a time (a server-side cursor on PostgreSQL), as the driver gives
    them: Django's per-value converters took much of the recount's time at 5M votes."""
    connection = transaction.get_connection()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(BATCH):
            yield from rows


def _vote_groups():
    """(reply id, voter stance id, up, down) of the active votes, in reply id order."""
    return _stream(
        "SELECT reply_id, voter_stance_id, count(CASE WHEN value = 1 THEN 1 END), "
        "count(CASE WHEN value = 1 THEN NULL ELSE 1 END) "
        f"FROM {Vote._meta.db_table} WHERE retracted_at IS NULL GROUP BY reply_id, voter_stance_id "
        "ORDER BY reply_id, voter_stance_id"
    )


def _audit_replies(report: list, fix: bool) -> Counter:
    """Check each reply's vote counters and rankings; returns the visible replies' active votes by
    (topic, thread or None, stance, "upvotes" or "downvotes"), which the stance tallies must hold."""
    # Two streams in reply id order, merged here: holding the recount of millions of votes in dicts (and a
    # model instance per reply) took most of a minute at 5M votes.
    slugs, slug_of = defaultdict(tuple), {}
    for pk, topic_id, slug in Stance.objects.order_by("position", "id").values_list("pk", "topic_id", "slug"):
        slugs[topic_id] += (slug,)
        slug_of[pk] = slug
    # Read after the first query, so inside the snapshot it took (tests write a vote here, mid-audit).
    persuaded = dict(Position.objects.exclude(persuaded_by=None).values_list("persuaded_by_id").annotate(n=Count("id")))
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
    replies = _stream(
        f"SELECT id, topic_id, thread_id, stance_id, state, {', '.join(fields)} FROM {Reply._meta.db_table} ORDER BY id"
    )
    # Rankings depend on the counts alone, and counts repeat across replies: each is computed once.
    wilson, controversial = functools.cache(wilson_lower_bound), functools.cache(controversy)

    @functools.lru_cache(maxsize=1 << 16)  # bounded: at 500k replies nearly every pair of pairs is new
    def bridged(stances: tuple, pairs: tuple) -> float:
        return bridging(dict(zip(stances, pairs, strict=True)), list(stances))

    threads, fixes, none, isclose = defaultdict(lambda: [0, 0]), [], (0, 0), math.isclose
    groups = _vote_groups()
    group = next(groups, None)
    for pk, topic_id, thread_id, stance_id, state, *have in replies:
        up = down = 0
        votes = {}
        while group is not None and group[0] <= pk:
            if group[0] == pk:
                up, down = up + group[2], down + group[3]
                if group[1] is not None:
                    votes[slug_of[group[1]]] = {"up": group[2], "down": group[3]}
            group = next(groups, None)
        if state == VISIBLE:
            counted = threads[topic_id, thread_id, stance_id]
            counted[0], counted[1] = counted[0] + up, counted[1] + down
        stances = slugs[topic_id]
        pairs = tuple((v["up"], v["down"]) if (v := votes.get(s)) else none for s in stances)
        expected = (up, down, up - down, wilson(up, down), controversial(up, down), bridged(stances, pairs))
        by_stance = have[6] = _decoded(have[6])
        # The common case first, and cheaply (as _same does, inlined): every counter right.
        if (
            have[0] == up
            and have[1] == down
            and have[2] == up - down
            and isclose(have[3], expected[3], rel_tol=1e-9, abs_tol=1e-12)
            and isclose(have[4], expected[4], rel_tol=1e-9, abs_tol=1e-12)
            and isclose(have[5], expected[5], rel_tol=1e-9, abs_tol=1e-12)
            and have[7] == persuaded.get(pk, 0)
            and (by_stance == votes or _nonzero(by_stance) == votes)
        ):
            continue
        want = dict(zip(fields[:6], expected, strict=True)) | {"persuaded_count": persuaded.get(pk, 0)}
        changes = _compare(f"reply {pk}", dict(zip(fields, have, strict=True)), want, report)
        if _nonzero(by_stance) != votes:
            report.append(f"reply {pk}: votes_by_stance is {_nonzero(by_stance)}, recount {votes}")
            changes["votes_by_stance"] = {s: votes.get(s, {"up": 0, "down": 0}) for s in stances} | votes
        if changes:
            fixes.append((pk, changes))
    groups.close()
    # After the streams: on SQLite an update to a table being read could move rows the read has yet to reach.
    for pk, changes in fixes if fix else ():
        # One UPDATE of just the wrong fields per row: bulk_update's CASE per row and field is far
        # slower to build than this is to run (about 6x at 20k replies, measured in bench/).
        Reply.objects.filter(pk=pk).update(**changes)
    tallied = Counter()
    for (topic_id, thread_id, stance_id), (up, down) in threads.items():
        for scope in (None, thread_id):
            tallied[topic_id, scope, stance_id, "upvotes"] += up
            tallied[topic_id, scope, stance_id, "downvotes"] += down
    return tallied


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


def _audit_stance_tallies(report: list, fix: bool, votes: Counter) -> None:
    """`votes`: the visible replies' active votes as _audit_replies recounted them from the vote rows."""
    visible = Reply.objects.filter(state=VISIBLE)
    expected = defaultdict(lambda: {"replies": 0, "participants": 0, "upvotes": 0, "downvotes": 0, "positions": 0})
    aggregates = {"n": Count("id"), "p": Count("author_id", distinct=True)}
    for scope in (("topic_id", "stance_id"), ("topic_id", "thread_id", "stance_id")):
        for row in visible.values(*scope).annotate(**aggregates).order_by():
            key = (row["topic_id"], row.get("thread_id"), row["stance_id"])
            expected[key].update(replies=row["n"], participants=row["p"])
    # Votes are recounted from the vote rows, not from the replies' own (possibly wrong) counters.
    for (topic_id, thread_id, stance_id, field), n in votes.items():
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


def _participation_sql() -> str:
    """The rows whose count differs from a recount, each scope (topic or thread, one stance or all) apart:
    (topic, thread, stance, user, stored row's id or None, stored count, recount)."""
    # Stored rows and recounts side by side, grouped on the key: GROUP BY takes nulls as equal, as a join
    # would not (the wider scopes' thread and stance are null), and one aggregate beat joins 3 to 1 at 5M votes.
    reply, part = Reply._meta.db_table, Participation._meta.db_table
    recounts = [
        f"SELECT topic_id, {thread}, {stance}, author_id, NULL, 0, count(*) FROM {reply} "
        f"WHERE state = %s GROUP BY topic_id, {thread}, {stance}, author_id"
        for thread in ("CAST(NULL AS bigint)", "thread_id")
        for stance in ("CAST(NULL AS bigint)", "stance_id")
    ]
    both = " UNION ALL ".join(
        [f"SELECT topic_id, thread_id, stance_id, user_id, id, replies AS stored, 0 AS recount FROM {part}", *recounts]
    )
    return (
        "SELECT topic_id, thread_id, stance_id, user_id, max(id), sum(stored), sum(recount) "
        f"FROM ({both}) AS side_by_side "
        "GROUP BY topic_id, thread_id, stance_id, user_id HAVING sum(stored) <> sum(recount)"
    )


def _audit_participations(report: list, fix: bool) -> None:
    # Compared in the database, which hands back the rows that differ only: both sides are 900k rows at 5M
    # votes, which took 12 s to hold and compare in dicts.
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(_participation_sql(), [VISIBLE.value] * 4)
        differing = cursor.fetchall()
    missing = []
    for topic_id, thread_id, stance_id, user_id, pk, have, want in differing:
        report.append(
            f"participation topic {topic_id} thread {thread_id} stance {stance_id} user {user_id}: {have} != {want}"
        )
        if fix and pk is None:
            missing.append(
                Participation(
                    topic_id=topic_id, thread_id=thread_id, stance_id=stance_id, user_id=user_id, replies=want
                )
            )
        elif fix:
            Participation.objects.filter(pk=pk).update(replies=want)
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
        # The recount's queries cost enough to be compiled, which took longer than it saved (3 s of 6 on the
        # participations at 5M votes).
        cursor.execute("SET LOCAL jit = off")


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
        votes = _audit_replies(report, fix)
        _audit_threads_and_topics(report, fix)
        _audit_stance_tallies(report, fix, votes)
        _audit_participations(report, fix)
        _audit_daily(report, fix)
        if fix and report:
            for topic_id in Topic.objects.values_list("pk", flat=True):
                summary_invalidate(topic_id)  # repaired tallies must not hide behind cached summaries
    return report
