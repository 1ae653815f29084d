"""Moderators acting on replies: hide, restore, change stance. Each act writes its log row inline."""

from django.db import transaction
from django.utils import timezone

from discussions import bookkeeping
from discussions.models import Event, Reply
from discussions.services.events import reply_event_append
from discussions.services.notifications import notification_moderation
from discussions.services.replies import reply_edit
from discussions.text import BODY_MAX_LENGTH, clean_text
from forum.errors import Conflict, NotFound
from forum.models import ModerationAction
from forum.permissions import refuse_if_suspended, refuse_unless_moderator
from forum.services import moderation_log_append


def _locked_reply(reply_id: int) -> Reply:
    reply = Reply.objects.select_for_update(no_key=True).filter(pk=reply_id).first()
    if reply is None:
        raise NotFound("No such reply.")
    return reply


def hide_locked(*, actor, reply: Reply, reason: str) -> Reply:
    """Hide a visible reply whose row the caller holds locked, and log it."""
    reply.state, reply.hidden_at, reply.hidden_reason = Reply.State.HIDDEN, timezone.now(), reason
    reply.save(update_fields=["state", "hidden_at", "hidden_reason", "updated_at"])
    bookkeeping.reply_counted(reply, -1, now=reply.hidden_at)
    event = reply_event_append(kind=Event.Kind.REPLY_HIDDEN, reply=reply, actor=actor)
    notification_moderation(event=event, reply=reply, actor=actor)
    moderation_log_append(
        actor=actor,
        action=ModerationAction.Action.HIDE,
        target_type="reply",
        target=reply,
        reason=reason,
        before={"state": Reply.State.VISIBLE},
        after={"state": Reply.State.HIDDEN},
    )
    return reply


def reply_hide(*, actor, reply_id: int, reason: str) -> Reply:
    """Hide a visible reply with a reason; it leaves every list, count and summary until restored."""
    refuse_unless_moderator(actor)
    refuse_if_suspended(actor)
    reason = clean_text("reason", reason, BODY_MAX_LENGTH)
    with transaction.atomic(durable=True):
        reply = _locked_reply(reply_id)
        if reply.state != Reply.State.VISIBLE:
            raise Conflict(f"Reply #{reply.pk} is {reply.state}; only visible replies can be hidden.")
        return hide_locked(actor=actor, reply=reply, reason=reason)


def reply_restore(*, actor, reply_id: int, reason: str = "") -> Reply:
    """Bring a hidden reply back, with its votes, into every list and count."""
    refuse_unless_moderator(actor)
    refuse_if_suspended(actor)
    with transaction.atomic(durable=True):
        reply = _locked_reply(reply_id)
        if reply.state != Reply.State.HIDDEN:
            raise Conflict(f"Reply #{reply.pk} is {reply.state}; only hidden replies can be restored.")
        reply.state, reply.hidden_at, reply.hidden_reason = Reply.State.VISIBLE, None, ""
        reply.save(update_fields=["state", "hidden_at", "hidden_reason", "updated_at"])
        bookkeeping.reply_counted(reply, 1)
        event = reply_event_append(kind=Event.Kind.REPLY_RESTORED, reply=reply, actor=actor)
        notification_moderation(event=event, reply=reply, actor=actor)
        moderation_log_append(
            actor=actor,
            action=ModerationAction.Action.RESTORE,
            target_type="reply",
            target=reply,
            reason=reason,
            before={"state": Reply.State.HIDDEN},
            after={"state": Reply.State.VISIBLE},
        )
        return reply


def reply_stance_change(*, actor, reply_id: int, stance_slug: str, reason: str = "") -> Reply:
    """Move a visible reply to another stance of its topic (say, after a wrong-stance flag); kept as a revision."""
    refuse_unless_moderator(actor)
    refuse_if_suspended(actor)
    with transaction.atomic(durable=True):
        reply = _locked_reply(reply_id)
        if reply.state != Reply.State.VISIBLE:
            raise Conflict(f"Reply #{reply.pk} is {reply.state}; only visible replies change stance.")
        # Logged by reply_edit when the reply is someone else's, as every moderator's edit is.
        return reply_edit(actor=actor, reply=reply, body=None, stance_slug=stance_slug, reason=reason)
