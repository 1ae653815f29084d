"""Declaring and changing one's side on a topic; earlier positions stay as history."""

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from discussions import bookkeeping
from discussions.models import Event, Position, Reply
from discussions.services.events import event_statement
from discussions.services.lookups import stance_named, topic_stances_for, user_locked
from forum.errors import Invalid, NotFound
from forum.permissions import refuse_if_suspended
from forum.rawsql import saved, table


def position_set(
    *, actor, topic_slug: str, stance_slug: str, persuaded_by_id: int | None = None, on_written=None
) -> Position:
    """Declare or change the actor's side on a topic; every earlier position stays as history.

    A new position carries `previous`, the slug of the stance it replaced (None for a first declaration);
    the same stance again hands back the current one, without it. `on_written(position)` runs inside the transaction.
    """
    refuse_if_suspended(actor)
    with transaction.atomic(durable=True):
        position = _declare(
            actor=actor, topic_slug=topic_slug, stance_slug=stance_slug, persuaded_by_id=persuaded_by_id
        )
        if on_written is not None:
            on_written(position)
        return position


def _declare(*, actor, topic_slug: str, stance_slug: str, persuaded_by_id: int | None) -> Position:
    # Serialise one user's declarations on every topic: two first declarations racing would both find
    # no current position and insert two. Taken before the read below, so that read is current.
    user_locked(actor.pk)
    stances = topic_stances_for(actor, topic_slug, persuaded_by_id=persuaded_by_id)
    if not stances:
        raise NotFound("No such topic.")
    topic = stances[0].topic
    held = next((s for s in stances if s.current_id is not None), None)
    current_id, current_stance_id = (held.current_id, held.pk) if held else (None, None)
    stance = stance_named(topic, stances, stance_slug)
    if not stances[0].persuaded_visible:
        raise Invalid.on("persuaded_by", f"No visible reply {persuaded_by_id} in topic '{topic.slug}'.")
    if current_id is not None and current_stance_id == stance.pk:
        current = Position.objects.get(pk=current_id)
        current.topic, current.stance = topic, stance
        return current
    now = timezone.now()
    if persuaded_by_id is not None:
        # Before the tallies, keeping the lock order of the votes (reply row first).
        Reply.objects.filter(pk=persuaded_by_id).update(persuaded_count=F("persuaded_count") + 1)
    moves, writes, at = {stance.pk: 1}, [], connection.ops.adapt_datetimefield_value(now)
    # The positions' rows ride the counters' statement, the old one closed before the new one is inserted
    # (one open position per user and topic): two round trips fewer. Only this user's declarations, which
    # queue on their row above, ever touch them.
    if current_id is not None:
        writes.append((f"UPDATE {table(Position)} SET until = %s WHERE id = %s", [at, current_id]))
        moves[current_stance_id] = -1
    writes.append(
        (
            f"INSERT INTO {table(Position)} (user_id, topic_id, stance_id, persuaded_by_id, since, until) "
            "SELECT %s, %s, %s, %s, %s, NULL WHERE 1 = 1",
            [actor.pk, topic.pk, stance.pk, persuaded_by_id, at],
        )
    )
    event = event_statement(kind=Event.Kind.POSITION_CHANGED, topic_id=topic.pk, actor_id=actor.pk)
    ids = bookkeeping.positions_moved(
        topic_id=topic.pk, moves=moves, shifted=current_id is not None, now=now, then=[*writes, event]
    )
    position = Position(user=actor, topic=topic, stance=stance, persuaded_by_id=persuaded_by_id, since=now)
    saved(position, ids[len(writes) - 1])  # the INSERT is the last of `writes`
    position.previous = held.slug if held else None
    return position
