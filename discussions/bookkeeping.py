"""Maintained counters, moved by the services inside their own transactions (never on their own).

Lock order, the same in every write so concurrent writers cannot deadlock: the reply row, then the
stance tallies (by primary key), then participations (by primary key), then daily rows, then the
thread row, then the topic row.
"""

import datetime

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from discussions.models import DailyTally, Participation, Reply, StanceTally, Thread, Topic, Vote
from discussions.ranking import bridging, controversy, wilson_lower_bound
from discussions.summary_cache import summary_invalidate


def utc_day(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(datetime.UTC).date()


def _locked_rows(model, base: Q, keys: list[tuple], fields: tuple[str, ...], create) -> dict:
    """Lock (creating first where missing) the rows of `model` under `base` keyed by `fields` values."""

    def select():
        match = Q()
        for key in keys:
            match |= Q(**dict(zip(fields, key, strict=True)))
        rows = model.objects.select_for_update().filter(base & match).order_by("pk")
        return {tuple(getattr(row, f) for f in fields): row for row in rows}

    rows = select()
    missing = [key for key in keys if key not in rows]
    if missing:
        # A racing writer may create the same rows: theirs win, ours are ignored, then both lock.
        model.objects.bulk_create([create(*key) for key in missing], ignore_conflicts=True)
        rows = select()
    return rows


def _locked_tallies(topic_id: int, keys: list[tuple[int | None, int]]) -> dict:
    return _locked_rows(
        StanceTally,
        Q(topic_id=topic_id),
        keys,
        ("thread_id", "stance_id"),
        lambda thread_id, stance_id: StanceTally(topic_id=topic_id, thread_id=thread_id, stance_id=stance_id),
    )


def _participation_step(reply: Reply, sign: int) -> dict:
    """Count the reply in its author's four participation scopes; return each scope's 0↔1 move."""
    keys = [(None, reply.stance_id), (reply.thread_id, reply.stance_id), (None, None), (reply.thread_id, None)]
    rows = _locked_rows(
        Participation,
        Q(topic_id=reply.topic_id, user_id=reply.author_id),
        keys,
        ("thread_id", "stance_id"),
        lambda thread_id, stance_id: Participation(
            topic_id=reply.topic_id, thread_id=thread_id, stance_id=stance_id, user_id=reply.author_id
        ),
    )
    moves = {}
    for key, row in rows.items():
        before = row.replies
        row.replies = before + sign
        moves[key] = (before == 0 and row.replies > 0) - (before > 0 and row.replies == 0)
    Participation.objects.bulk_update(list(rows.values()), ["replies"])
    return moves


def daily_add(*, topic_id: int, stance_id: int, day: datetime.date, replies=0, upvotes=0, positions=0) -> None:
    """Add to one day's activity of one stance."""
    if not (replies or upvotes or positions):
        return
    row = DailyTally.objects.filter(topic_id=topic_id, stance_id=stance_id, day=day)
    changes = {
        "replies": F("replies") + replies,
        "upvotes": F("upvotes") + upvotes,
        "positions_delta": F("positions_delta") + positions,
    }
    if not row.update(**changes):
        DailyTally.objects.bulk_create(
            [DailyTally(topic_id=topic_id, stance_id=stance_id, day=day)], ignore_conflicts=True
        )
        row.update(**changes)


def reply_counted(reply: Reply, sign: int, *, move_reply_counts: bool = True, is_new: bool = False, now=None) -> None:
    """Add (sign 1) or take away (sign -1) a reply and its votes in every maintained counter."""
    now = now or timezone.now()
    tallies = _locked_tallies(reply.topic_id, [(None, reply.stance_id), (reply.thread_id, reply.stance_id)])
    moves = _participation_step(reply, sign)
    for (thread_id, stance_id), row in tallies.items():
        row.replies += sign
        row.upvotes += sign * reply.upvotes
        row.downvotes += sign * reply.downvotes
        row.participants += moves[(thread_id, stance_id)]
        row.updated_at = now
    StanceTally.objects.bulk_update(
        list(tallies.values()), ["replies", "upvotes", "downvotes", "participants", "updated_at"]
    )

    daily_add(topic_id=reply.topic_id, stance_id=reply.stance_id, day=utc_day(reply.created_at), replies=sign)
    if reply.upvotes:
        by_day = (
            Vote.objects.filter(reply=reply, value=Vote.Value.UP, retracted_at__isnull=True)
            .annotate(day=TruncDate("cast_at"))
            .values("day")
            .annotate(n=Count("id"))
        )
        for row in by_day:
            daily_add(topic_id=reply.topic_id, stance_id=reply.stance_id, day=row["day"], upvotes=sign * row["n"])

    thread_changes = {"participant_count": F("participant_count") + moves[(reply.thread_id, None)]}
    topic_changes = {"participant_count": F("participant_count") + moves[(None, None)]}
    if move_reply_counts:
        thread_changes["reply_count"] = F("reply_count") + sign
        topic_changes["reply_count"] = F("reply_count") + sign
        if is_new:  # a restore is not new activity
            thread_changes["last_activity_at"] = now
    Thread.objects.filter(pk=reply.thread_id).update(**thread_changes)
    Topic.objects.filter(pk=reply.topic_id).update(**topic_changes)
    summary_invalidate(reply.topic_id)


def reply_rerank(reply: Reply, stance_slugs: list[str]) -> None:
    """Recompute the reply's stored rankings from its (already updated) counters."""
    reply.score = reply.upvotes - reply.downvotes
    reply.wilson = wilson_lower_bound(reply.upvotes, reply.downvotes)
    reply.controversy = controversy(reply.upvotes, reply.downvotes)
    reply.bridging = bridging({slug: (v["up"], v["down"]) for slug, v in reply.votes_by_stance.items()}, stance_slugs)


def votes_moved(reply: Reply, *, up: int, down: int, now=None) -> None:
    """Move a visible reply's stance tallies by a vote change."""
    if not (up or down):
        return
    now = now or timezone.now()
    tallies = _locked_tallies(reply.topic_id, [(None, reply.stance_id), (reply.thread_id, reply.stance_id)])
    # Both rows move by the same amounts: one plain UPDATE, where bulk_update would build a CASE per field
    # (measured at about a third of a vote's time in the service).
    StanceTally.objects.filter(pk__in=[row.pk for row in tallies.values()]).update(
        upvotes=F("upvotes") + up, downvotes=F("downvotes") + down, updated_at=now
    )
    summary_invalidate(reply.topic_id)


def positions_moved(*, topic_id: int, moves: dict[int, int], now) -> None:
    """Count users taking (+1) or leaving (-1) positions on the topic: {stance id: change}."""
    # Both stances' rows locked in key order in one go, so A→B beside B→A cannot deadlock.
    tallies = _locked_tallies(topic_id, [(None, stance_id) for stance_id in sorted(moves)])
    for stance_id, delta in moves.items():
        row = tallies[(None, stance_id)]
        row.positions += delta
        row.updated_at = now
    StanceTally.objects.bulk_update(list(tallies.values()), ["positions", "updated_at"])
    for stance_id, delta in sorted(moves.items()):
        daily_add(topic_id=topic_id, stance_id=stance_id, day=utc_day(now), positions=delta)
    summary_invalidate(topic_id)


def stance_changed(reply: Reply, *, old_stance_id: int, new_stance_id: int) -> None:
    """Move a visible reply, with its votes, from one stance's counters to another's."""
    # Lock both stances' rows up front in key order: moving A→B beside a concurrent B→A then
    # takes the same locks in the same order instead of each holding what the other waits for.
    stances = sorted({old_stance_id, new_stance_id})
    _locked_tallies(reply.topic_id, [(t, s) for s in stances for t in (None, reply.thread_id)])
    reply.stance_id = old_stance_id
    reply_counted(reply, -1, move_reply_counts=False)
    reply.stance_id = new_stance_id
    reply_counted(reply, 1, move_reply_counts=False)
