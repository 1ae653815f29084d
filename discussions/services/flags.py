"""Readers flagging replies, and moderators resolving (hide the reply) or dismissing the flags."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from discussions.models import Flag, Reply
from discussions.services.moderation import hide_locked
from discussions.text import FLAG_TEXT_MAX_LENGTH, clean_optional_text
from forum.errors import Conflict, Invalid, NotFound
from forum.models import ModerationAction
from forum.permissions import refuse_if_suspended, refuse_unless_moderator
from forum.services import moderation_log_append

ALREADY_FLAGGED = "You already have an open flag on this reply."


def flag_create(*, actor, reply_id: int, reason: str, text: str = "", on_written=None) -> Flag:
    """Report a visible reply to the moderators; one open flag per user and reply.

    `on_written(flag)` runs inside the transaction.
    """
    refuse_if_suspended(actor)
    if reason not in Flag.Reason.values:
        raise Invalid.on("reason", f"Choose one of: {', '.join(Flag.Reason.values)}.")
    text = clean_optional_text("text", text, FLAG_TEXT_MAX_LENGTH)
    flag = None
    try:
        with transaction.atomic(durable=True):
            reply = Reply.objects.filter(pk=reply_id, state=Reply.State.VISIBLE).first()
            if reply is None:
                raise NotFound("No such reply.")
            if Flag.objects.filter(reporter=actor, reply=reply, state=Flag.State.OPEN).exists():
                raise Invalid.on("reply", ALREADY_FLAGGED)
            flag = Flag.objects.create(reply=reply, reporter=actor, reason=reason, text=text)
            if on_written is not None:
                on_written(flag)
            return flag
    except IntegrityError:
        if flag is not None:  # not the flag's insert but what on_written wrote: its caller's to handle
            raise
        raise Invalid.on("reply", ALREADY_FLAGGED) from None  # the same user flagging twice at once


def _flags_close(*, actor, flags, state: str, action: str) -> None:
    now = timezone.now()
    for flag in flags:
        before = flag.state
        flag.state, flag.handled_by, flag.handled_at = state, actor, now
        flag.save(update_fields=["state", "handled_by", "handled_at"])
        moderation_log_append(
            actor=actor,
            action=action,
            target_type="flag",
            target=flag,
            reason=flag.reason,
            before={"state": before},
            after={"state": state},
        )


def _refuse_unless_open(flag: Flag | None, flag_id: int, doing: str) -> Flag:
    if flag is None:
        raise NotFound(f"No flag #{flag_id}.")
    if flag.state != Flag.State.OPEN:
        raise Conflict(f"Flag #{flag.pk} is {flag.state}; only open flags can be {doing}.")
    return flag


def flag_resolve(*, actor, flag_id: int) -> Flag:
    """Accept a flag: hide its reply and close every open flag on that reply."""
    refuse_unless_moderator(actor)
    refuse_if_suspended(actor)
    with transaction.atomic(durable=True):
        reply_id = Flag.objects.filter(pk=flag_id).values_list("reply_id", flat=True).first()
        # Every open flag of the reply locked at once, in key order, before the reply row: two moderators
        # resolving two flags of one reply then queue instead of each holding what the other needs.
        siblings = list(
            Flag.objects.select_for_update().filter(reply_id=reply_id, state=Flag.State.OPEN).order_by("pk")
        )
        flag = next((f for f in siblings if f.pk == flag_id), None)
        if flag is None:
            _refuse_unless_open(Flag.objects.filter(pk=flag_id).first(), flag_id, "resolved")
        reply = Reply.objects.select_for_update(no_key=True).get(pk=flag.reply_id)
        if reply.state == Reply.State.VISIBLE:
            hide_locked(actor=actor, reply=reply, reason=f"Flag #{flag.pk}: {flag.reason}. {flag.text}".strip())
        _flags_close(
            actor=actor, flags=siblings, state=Flag.State.RESOLVED, action=ModerationAction.Action.RESOLVE_FLAG
        )
        return flag


def flag_dismiss(*, actor, flag_id: int) -> Flag:
    """Reject a flag: the reply stays as it is."""
    refuse_unless_moderator(actor)
    refuse_if_suspended(actor)
    with transaction.atomic(durable=True):
        flag = _refuse_unless_open(Flag.objects.select_for_update().filter(pk=flag_id).first(), flag_id, "dismissed")
        _flags_close(actor=actor, flags=[flag], state=Flag.State.DISMISSED, action=ModerationAction.Action.DISMISS_FLAG)
        return flag
