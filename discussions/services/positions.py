"""Declaring and changing one's side on a topic; earlier positions stay as history."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from discussions import bookkeeping
from discussions.models import Position, Reply, Topic
from discussions.services.lookups import stance_of_topic
from forum.errors import Invalid, NotFound
from forum.permissions import refuse_if_suspended


def position_set(
    *, actor, topic_slug: str, stance_slug: str, persuaded_by_id: int | None = None, on_written=None
) -> Position:
    """Declare or change the actor's side on a topic; every earlier position stays as history.

    `on_written(position)` runs inside the transaction.
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
    topic = Topic.objects.filter(slug=topic_slug).first()
    if topic is None:
        raise NotFound("No such topic.")
    stance, _ = stance_of_topic(topic, stance_slug)
    persuaded_by = None
    if persuaded_by_id is not None:
        persuaded_by = Reply.objects.filter(pk=persuaded_by_id, topic=topic, state=Reply.State.VISIBLE).first()
        if persuaded_by is None:
            raise Invalid.on("persuaded_by", f"No visible reply {persuaded_by_id} in topic '{topic.slug}'.")
    # Serialise one user's declarations on every topic: two first declarations racing would both find
    # no current position and insert two.
    get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
    current = Position.objects.select_for_update().filter(user=actor, topic=topic, until=None).first()
    if current is not None and current.stance_id == stance.pk:
        return current
    now = timezone.now()
    if persuaded_by is not None:
        # Before the tallies, keeping the lock order of the votes (reply row first).
        Reply.objects.filter(pk=persuaded_by.pk).update(persuaded_count=F("persuaded_count") + 1)
    moves = {stance.pk: 1}
    if current is not None:
        current.until = now
        current.save(update_fields=["until"])
        moves[current.stance_id] = -1
    position = Position.objects.create(user=actor, topic=topic, stance=stance, persuaded_by=persuaded_by, since=now)
    bookkeeping.positions_moved(topic_id=topic.pk, moves=moves, now=now)
    if current is not None:
        Topic.objects.filter(pk=topic.pk).update(shift_count=F("shift_count") + 1)
    return position
