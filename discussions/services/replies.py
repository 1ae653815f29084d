"""Posting, editing and withdrawing replies."""

from django.db import transaction
from django.utils import timezone

from discussions import bookkeeping
from discussions.models import Event, Reply, ReplyRevision, Stance, Thread
from discussions.services import bodies
from discussions.services.events import reply_event_append, reply_event_statement, reply_event_written
from discussions.services.lookups import (
    locked_visible_reply,
    refuse_if_locked,
    refuse_unless_author_or_moderator,
    stance_named,
    stance_of_topic,
    thread_stances,
)
from discussions.services.notifications import notification_moderation, notifications_fan_out
from discussions.summary_cache import summary_invalidate
from discussions.text import BODY_MAX_LENGTH, clean_text
from forum.errors import Invalid
from forum.models import ModerationAction
from forum.permissions import refuse_if_suspended
from forum.services import moderation_log_append


def _inserted(stances: list[Stance], *, actor, **fields) -> tuple[Reply, Event]:
    """Insert a reply by `actor` with these fields, render and index its body, count it everywhere and append
    its outbox row; the reply and that row."""
    reply = Reply(votes_by_stance={s.slug: {"up": 0, "down": 0} for s in stances}, author=actor, **fields)
    rendered = bodies.body_prepare(reply)  # before any row is written: a bad quote refuses the whole post
    reply.save(force_insert=True)
    bodies.body_written(reply, rendered, is_new=True)
    # The outbox row rides the counters' statement (one round trip fewer); the fan-out needs its id.
    posted = Event.Kind.REPLY_POSTED
    statement = reply_event_statement(kind=posted, reply=reply, actor=actor)
    (event_id,) = bookkeeping.reply_counted(reply, 1, is_new=True, now=reply.created_at, then=[statement])
    return reply, reply_event_written(event_id, kind=posted, reply=reply, actor=actor)


def insert_reply(
    *, actor, thread: Thread, stance: Stance, stances: list[Stance], body: str, parent
) -> tuple[Reply, Event]:
    """Insert a reply and count it everywhere (also a thread's opening post); the reply and its outbox row."""
    return _inserted(
        stances, actor=actor, topic_id=thread.topic_id, thread=thread, parent=parent, stance=stance, body=body
    )


def reply_create(
    *, actor, thread_id: int, body: str, stance_slug: str, parent_id: int | None = None, on_written=None
) -> Reply:
    """Post a reply in a thread with one of its topic's stances, optionally answering a reply there.

    `on_written(reply)`, when given, runs inside the transaction (an API answer built and stored with the write).
    """
    refuse_if_suspended(actor)
    body = clean_text("body", body, BODY_MAX_LENGTH)
    with transaction.atomic(durable=True):
        stances = thread_stances(thread_id, parent_id=parent_id)
        if not stances:
            raise Invalid.on("thread", f"No thread with id {thread_id}.")
        topic = stances[0].topic
        refuse_if_locked(topic, stances[0].thread_locked)
        stance = stance_named(topic, stances, stance_slug)
        if not stances[0].parent_visible:
            raise Invalid.on("parent", f"No visible reply {parent_id} in thread {thread_id}.")
        reply, event = _inserted(
            stances, actor=actor, topic=topic, thread_id=thread_id, parent_id=parent_id, stance=stance, body=body
        )
        notifications_fan_out(event=event, reply=reply)
        if on_written is not None:
            on_written(reply)
        return reply


def reply_edit(*, actor, reply: Reply, body: str | None, stance_slug: str | None, reason: str) -> Reply:
    """Change a locked reply's body or stance, keeping a revision; logged when the reply is someone else's."""
    new_body = reply.body if body is None else clean_text("body", body, BODY_MAX_LENGTH)
    old_stance = new_stance = reply.stance
    if stance_slug is not None:
        new_stance = stance_of_topic(reply.topic, stance_slug)[0]
    if new_body == reply.body and new_stance.pk == old_stance.pk:
        return reply
    ReplyRevision.objects.create(reply=reply, body=reply.body, stance_id=reply.stance_id, edited_by=actor)
    if new_stance.pk != old_stance.pk:
        bookkeeping.stance_changed(reply, old_stance_id=old_stance.pk, new_stance_id=new_stance.pk)
    old_body = reply.body
    reply.body = new_body
    reply.stance = new_stance
    rendered = bodies.body_prepare(reply) if new_body != old_body else None
    reply.save(update_fields=["body", "stance", "updated_at", *(bodies.RENDERED_COLUMNS if rendered else [])])
    if rendered is not None:
        bodies.body_written(reply, rendered, is_new=False)
    summary_invalidate(reply.topic_id)  # its text may be among the best replies shown
    stance_moved = new_stance.pk != old_stance.pk
    event = reply_event_append(
        kind=Event.Kind.STANCE_CHANGED if stance_moved else Event.Kind.REPLY_EDITED, reply=reply, actor=actor
    )
    if actor.pk != reply.author_id:
        notification_moderation(event=event, reply=reply, actor=actor)
        before, after = {}, {}
        if new_stance.pk != old_stance.pk:
            before["stance"], after["stance"] = old_stance.slug, new_stance.slug
        if new_body != old_body:
            before["body"], after["body"] = old_body, new_body
        action = ModerationAction.Action.CHANGE_STANCE if "stance" in before else ModerationAction.Action.EDIT_REPLY
        moderation_log_append(
            actor=actor, action=action, target=reply, target_type="reply", reason=reason, before=before, after=after
        )
    return reply


def reply_update(
    *, actor, reply_id: int, body: str | None = None, stance_slug: str | None = None, reason: str = ""
) -> Reply:
    """Edit a reply's body or stance (its author, or a moderator); the earlier version is kept as a revision."""
    refuse_if_suspended(actor)
    with transaction.atomic(durable=True):
        reply = locked_visible_reply(reply_id)
        refuse_unless_author_or_moderator(actor, reply, "edit")
        return reply_edit(actor=actor, reply=reply, body=body, stance_slug=stance_slug, reason=reason)


def reply_withdraw(*, actor, reply_id: int) -> Reply:
    """Withdraw a reply: it leaves every list and count but stays in the database."""
    refuse_if_suspended(actor)
    with transaction.atomic(durable=True):
        reply = locked_visible_reply(reply_id)
        refuse_unless_author_or_moderator(actor, reply, "withdraw")
        reply.state = Reply.State.WITHDRAWN
        reply.withdrawn_at = timezone.now()
        reply.save(update_fields=["state", "withdrawn_at", "updated_at"])
        bookkeeping.reply_counted(reply, -1, now=reply.withdrawn_at)
        event = reply_event_append(kind=Event.Kind.REPLY_WITHDRAWN, reply=reply, actor=actor)
        if actor.pk != reply.author_id:
            notification_moderation(event=event, reply=reply, actor=actor)
            moderation_log_append(
                actor=actor,
                action=ModerationAction.Action.WITHDRAW_REPLY,
                target=reply,
                target_type="reply",
                before={"state": Reply.State.VISIBLE},
                after={"state": Reply.State.WITHDRAWN},
            )
        return reply
