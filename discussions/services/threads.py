"""Opening threads, and moderators locking or pinning them."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from discussions.bookkeeping import tallies_opened
from discussions.models import Event, Thread, ThreadSubscription, Topic
from discussions.services import replies
from discussions.services.events import event_append
from discussions.services.lookups import refuse_if_locked, stance_of_topic
from discussions.services.notifications import notifications_fan_out
from discussions.text import BODY_MAX_LENGTH, TITLE_MAX_LENGTH, clean_text
from forum.errors import Invalid, NotFound
from forum.models import ModerationAction
from forum.permissions import refuse_if_suspended, refuse_unless_moderator
from forum.services import moderation_log_append


def thread_create(*, actor, topic_slug: str, title: str, body: str, stance_slug: str, on_written=None) -> Thread:
    """Open a thread and its opening reply together; `on_written(thread)` runs inside the transaction."""
    refuse_if_suspended(actor)
    title = clean_text("title", title, TITLE_MAX_LENGTH)
    body = clean_text("body", body, BODY_MAX_LENGTH)
    with transaction.atomic(durable=True):
        topic = Topic.objects.filter(slug=topic_slug).first()
        if topic is None:
            raise Invalid.on("topic", f"No topic with slug '{topic_slug}'.")
        refuse_if_locked(topic)
        stance, stances = stance_of_topic(topic, stance_slug)
        now = timezone.now()
        thread = Thread.objects.create(topic=topic, author=actor, title=title, created_at=now, last_activity_at=now)
        tallies_opened(topic_id=topic.pk, thread_id=thread.pk, stance_ids=[s.pk for s in stances])
        reply, event = replies.insert_reply(
            actor=actor, thread=thread, stance=stance, stances=stances, body=body, parent=None
        )
        thread.opening_reply = reply
        thread.save(update_fields=["opening_reply"])
        Topic.objects.filter(pk=topic.pk).update(thread_count=F("thread_count") + 1)
        thread.reply_count = thread.participant_count = 1  # counted in the database by insert_reply
        # Its opener watches it (every new reply), until they choose otherwise.
        ThreadSubscription.objects.create(user=actor, thread=thread, level=ThreadSubscription.Level.WATCHING)
        notifications_fan_out(event=event, reply=reply, thread_is_new=True)  # its mentions and quotes
        if on_written is not None:
            on_written(thread)
        return thread


def _thread_switch(
    *, actor, thread_id: int, field: str, value: bool, actions: tuple, event_kind: str, reason: str
) -> Thread:
    """Set a thread's boolean `field`, logging it with actions[0] (on) or actions[1] (off); already so, nothing."""
    refuse_unless_moderator(actor)
    refuse_if_suspended(actor)
    with transaction.atomic(durable=True):
        thread = Thread.objects.select_for_update(no_key=True).filter(pk=thread_id).first()
        if thread is None:
            raise NotFound("No such thread.")
        if getattr(thread, field) == value:
            return thread
        setattr(thread, field, value)
        thread.save(update_fields=[field, "updated_at"])
        moderation_log_append(
            actor=actor,
            action=actions[0] if value else actions[1],
            target_type="thread",
            target=thread,
            reason=reason,
            before={field: not value},
            after={field: value},
        )
        event_append(kind=event_kind, topic_id=thread.topic_id, thread_id=thread.pk, actor_id=actor.pk)
        return thread


def thread_lock(*, actor, thread_id: int, locked: bool, reason: str = "") -> Thread:
    """Lock (no new replies) or unlock a thread; already so, nothing is logged."""
    actions = (ModerationAction.Action.LOCK_THREAD, ModerationAction.Action.UNLOCK_THREAD)
    return _thread_switch(
        actor=actor,
        thread_id=thread_id,
        field="is_locked",
        value=locked,
        actions=actions,
        event_kind=Event.Kind.THREAD_LOCKED,
        reason=reason,
    )


def thread_pin(*, actor, thread_id: int, pinned: bool, reason: str = "") -> Thread:
    """Pin a thread to the top of its topic's list, or unpin it; already so, nothing is logged."""
    actions = (ModerationAction.Action.PIN_THREAD, ModerationAction.Action.UNPIN_THREAD)
    return _thread_switch(
        actor=actor,
        thread_id=thread_id,
        field="is_pinned",
        value=pinned,
        actions=actions,
        event_kind=Event.Kind.THREAD_PINNED,
        reason=reason,
    )
