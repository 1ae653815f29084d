"""Casting, moving and retracting votes; each moves the reply's counters and the stance tallies."""

from django.db import transaction
from django.db.models import Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from discussions import bookkeeping
from discussions.models import Position, Reply, Stance, Vote
from discussions.services.lookups import locked_visible_reply
from forum.errors import Invalid
from forum.permissions import refuse_if_suspended


def _tally_delta(value: int | None) -> tuple[int, int]:
    if value is None:
        return 0, 0
    return (1, 0) if value == Vote.Value.UP else (0, 1)


def _voters_side(*, user, topic_id: int):
    """The voter's side as a subquery: their declared position, else their latest visible reply's stance."""
    position = Position.objects.filter(user=user, topic_id=topic_id, until=None).values("stance_id")[:1]
    latest = (
        Reply.objects.filter(author=user, topic_id=topic_id, state=Reply.State.VISIBLE)
        .order_by("-created_at", "-id")
        .values("stance_id")[:1]
    )
    return Coalesce(Subquery(position), Subquery(latest))


def _stances_and_side(*, user, topic_id: int) -> tuple[list[str], Stance | None]:
    """The topic's stance slugs (for the rankings) and the voter's side (as voter_stance), in one query."""
    stances = list(Stance.objects.filter(topic_id=topic_id).annotate(side=_voters_side(user=user, topic_id=topic_id)))
    return [s.slug for s in stances], next((s for s in stances if s.pk == s.side), None)


def _topic_slugs(topic_id: int) -> list[str]:
    return list(Stance.objects.filter(topic_id=topic_id).values_list("slug", flat=True))


def _vote_moved(reply: Reply, vote: Vote, old: tuple, now, slugs: list[str]) -> None:
    """Apply a vote's change from `old` (value, stance slug, cast day) to its current state; `slugs` are
    the topic's stances."""
    old_value, old_stance, old_day = old
    new_value = None if vote.retracted_at else vote.value
    new_stance = vote.voter_stance.slug if new_value is not None and vote.voter_stance_id else None
    (old_up, old_down), (new_up, new_down) = _tally_delta(old_value), _tally_delta(new_value)
    up, down = new_up - old_up, new_down - old_down

    by_stance = reply.votes_by_stance
    if old_stance is not None and old_value is not None:
        entry = by_stance.setdefault(old_stance, {"up": 0, "down": 0})
        entry["up"], entry["down"] = entry["up"] - old_up, entry["down"] - old_down
    if new_stance is not None:
        entry = by_stance.setdefault(new_stance, {"up": 0, "down": 0})
        entry["up"], entry["down"] = entry["up"] + new_up, entry["down"] + new_down

    reply.upvotes += up
    reply.downvotes += down
    bookkeeping.reply_rerank(reply, slugs)
    reply.save(update_fields=["upvotes", "downvotes", "score", "wilson", "controversy", "bridging", "votes_by_stance"])
    bookkeeping.votes_moved(reply, up=up, down=down, now=now)
    if old_up:
        bookkeeping.daily_add(topic_id=reply.topic_id, stance_id=reply.stance_id, day=old_day, upvotes=-1)
    if new_up:
        bookkeeping.daily_add(
            topic_id=reply.topic_id, stance_id=reply.stance_id, day=bookkeeping.utc_day(vote.cast_at), upvotes=1
        )


def _vote_state(vote: Vote | None) -> tuple:
    if vote is None or vote.retracted_at is not None:
        return None, None, None
    stance = vote.voter_stance.slug if vote.voter_stance_id else None
    return vote.value, stance, bookkeeping.utc_day(vote.cast_at)


def vote_cast(*, actor, reply_id: int, value: int, on_written=None) -> Vote:
    """Vote a visible reply up (1) or down (-1); the same vote again changes nothing, the other moves it.

    `on_written(vote)` runs inside the transaction, `vote.reply` carrying the new tallies.
    """
    refuse_if_suspended(actor)
    if value not in (Vote.Value.UP, Vote.Value.DOWN) or isinstance(value, bool):
        raise Invalid.on("value", "Must be 1 (up) or -1 (down).")
    with transaction.atomic(durable=True):
        vote = _cast(actor=actor, reply_id=reply_id, value=value)
        if on_written is not None:
            on_written(vote)
        return vote


def _cast(*, actor, reply_id: int, value: int) -> Vote:
    # The reply's row lock serialises every vote on it, so reading the vote and moving the counters
    # cannot interleave with another writer.
    reply = locked_visible_reply(reply_id)
    vote = Vote.objects.select_related("voter_stance").filter(user=actor, reply=reply).first()
    old = _vote_state(vote)
    if old[0] == value:
        vote.reply = reply
        return vote
    now = timezone.now()
    slugs, stance = _stances_and_side(user=actor, topic_id=reply.topic_id)
    if vote is None:
        vote = Vote.objects.create(user=actor, reply=reply, value=value, voter_stance=stance, cast_at=now)
    else:
        vote.value, vote.voter_stance, vote.cast_at, vote.retracted_at = value, stance, now, None
        vote.save(update_fields=["value", "voter_stance", "cast_at", "retracted_at", "updated_at"])
    _vote_moved(reply, vote, old, now, slugs)
    vote.reply = reply
    return vote


def vote_retract(*, actor, reply_id: int) -> Reply:
    """Retract the actor's vote on a reply; the vote row is kept, marked retracted."""
    refuse_if_suspended(actor)
    with transaction.atomic(durable=True):
        reply = locked_visible_reply(reply_id)
        vote = Vote.objects.select_related("voter_stance").filter(user=actor, reply=reply, retracted_at=None).first()
        if vote is not None:
            old = _vote_state(vote)
            vote.retracted_at = timezone.now()
            vote.save(update_fields=["retracted_at", "updated_at"])
            _vote_moved(reply, vote, old, vote.retracted_at, _topic_slugs(reply.topic_id))
        return reply
