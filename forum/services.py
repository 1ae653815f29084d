"""Writes about people and order: registration, tokens, flags, suspensions and moderation acts."""

import hashlib

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import Throttled

from discussions import services as discussion_services
from discussions.models import Reply, Thread, Topic
from discussions.permissions import can_moderate
from forum.models import Flag, ModerationAction, Suspension


@transaction.atomic
def user_register(*, username: str, password: str, email: str = ""):
    """Create an account after Django's password validators have passed."""
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": ["A user with that username already exists."]})
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:  # two registrations racing for one name
        raise ValidationError({"username": ["A user with that username already exists."]}) from None
    return candidate


FLAG_TEXT_MAX_LENGTH = 2000


def _failures_key(username: str) -> str:
    # Hashed: a username may hold spaces or control characters no cache key should.
    return f"login-failures:{hashlib.sha256(username.lower().encode()).hexdigest()}"


def token_obtain(*, username: str, password: str) -> Token:
    """Exchange credentials for the user's API token (created on first use).

    After LOGIN_FAILURE_LIMIT failures for one username within LOGIN_FAILURE_WINDOW seconds, further
    attempts are refused until the window passes, whatever the password: guessing stops paying.
    """
    key = _failures_key(username)
    if cache.get(key, 0) >= settings.LOGIN_FAILURE_LIMIT:
        raise Throttled(wait=settings.LOGIN_FAILURE_WINDOW, detail="Too many failed logins for this username.")
    user = authenticate(username=username, password=password)
    if user is None:
        cache.add(key, 0, settings.LOGIN_FAILURE_WINDOW)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, settings.LOGIN_FAILURE_WINDOW)
        raise ValidationError({"non_field_errors": ["Unable to log in with the given username and password."]})
    cache.delete(key)
    token, _ = Token.objects.get_or_create(user=user)
    return token


def token_revoke(*, user) -> None:
    """Delete the user's API token: every client holding it is logged out."""
    Token.objects.filter(user=user).delete()


# --- Moderation: each act and its log row in one transaction --------------------------------------


def _log(*, actor, action, target_type: str, target, reason: str = "", before=None, after=None) -> ModerationAction:
    return ModerationAction.objects.create(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target.pk,
        target_repr=str(target)[:200],
        reason=reason,
        before=before,
        after=after,
    )


def _refuse_unless_moderator(actor) -> None:
    if not can_moderate(actor):
        raise PermissionDenied("Only moderators may do this.")


@transaction.atomic
def reply_hide(*, actor, reply_id: int, reason: str) -> Reply:
    """Hide a reply with a reason; it leaves every list, count and summary until restored."""
    reply = discussion_services.reply_hide(actor=actor, reply_id=reply_id, reason=reason)
    _log(
        actor=actor,
        action=ModerationAction.Action.HIDE,
        target_type="reply",
        target=reply,
        reason=reply.hidden_reason,
        before={"state": Reply.State.VISIBLE},
        after={"state": Reply.State.HIDDEN},
    )
    return reply


@transaction.atomic
def reply_restore(*, actor, reply_id: int, reason: str = "") -> Reply:
    """Restore a hidden reply; it comes back, with its votes, everywhere it counted."""
    reply = discussion_services.reply_restore(actor=actor, reply_id=reply_id)
    _log(
        actor=actor,
        action=ModerationAction.Action.RESTORE,
        target_type="reply",
        target=reply,
        reason=reason,
        before={"state": Reply.State.HIDDEN},
        after={"state": Reply.State.VISIBLE},
    )
    return reply


@transaction.atomic
def reply_stance_change(*, actor, reply_id: int, stance_slug: str, reason: str = "") -> Reply:
    """Move a reply to another stance of its topic (say, after a wrong-stance flag); kept as a revision."""
    _refuse_unless_moderator(actor)
    # reply_update records the act through moderation_record below (when the reply is someone else's).
    return discussion_services.reply_update(actor=actor, reply_id=reply_id, stance_slug=stance_slug, reason=reason)


def moderation_record(*, actor, action: str, target, target_type: str, reason: str, before: dict, after: dict) -> None:
    """Log a moderation act done in discussions (registered at start-up): a moderator's edit, stance change or
    withdrawal of someone else's reply, and a topic's lock or unlock, whether from the admin or the API."""
    _log(actor=actor, action=action, target_type=target_type, target=target, reason=reason, before=before, after=after)


def _log_switch(*, actor, target, target_type: str, field: str, value: bool, actions: tuple, reason: str) -> None:
    """Log a flag switched on or off; `actions` is the (on, off) pair of log actions."""
    _log(
        actor=actor,
        action=actions[0] if value else actions[1],
        target_type=target_type,
        target=target,
        reason=reason,
        before={field: not value},
        after={field: value},
    )


def _thread_switch(*, actor, thread_id: int, field: str, value: bool, actions: tuple, reason: str) -> Thread:
    thread, changed = discussion_services.thread_moderate(actor=actor, thread_id=thread_id, **{field: value})
    if changed:  # already so: nothing happened, so nothing is logged
        _log_switch(
            actor=actor, target=thread, target_type="thread", field=field, value=value, actions=actions, reason=reason
        )
    return thread


@transaction.atomic
def thread_lock(*, actor, thread_id: int, locked: bool, reason: str = "") -> Thread:
    """Lock (no new replies) or unlock a thread; already so, nothing is logged."""
    actions = (ModerationAction.Action.LOCK_THREAD, ModerationAction.Action.UNLOCK_THREAD)
    return _thread_switch(
        actor=actor, thread_id=thread_id, field="is_locked", value=locked, actions=actions, reason=reason
    )


@transaction.atomic
def thread_pin(*, actor, thread_id: int, pinned: bool, reason: str = "") -> Thread:
    """Pin a thread to the top of its topic's list, or unpin it; already so, nothing is logged."""
    actions = (ModerationAction.Action.PIN_THREAD, ModerationAction.Action.UNPIN_THREAD)
    return _thread_switch(
        actor=actor, thread_id=thread_id, field="is_pinned", value=pinned, actions=actions, reason=reason
    )


@transaction.atomic
def topic_lock(*, actor, topic_id: int, locked: bool, reason: str = "") -> Topic:
    """Lock (no new threads or replies) or unlock a whole topic; discussions logs it through moderation_record."""
    return discussion_services.topic_lock(actor=actor, topic_id=topic_id, is_locked=locked, reason=reason)[0]


@transaction.atomic
def flag_create(*, actor, reply_id: int, reason: str, text: str = "") -> Flag:
    """Report a visible reply to the moderators; one open flag per user and reply."""
    if reason not in Flag.Reason.values:
        raise ValidationError({"reason": [f"Choose one of: {', '.join(Flag.Reason.values)}."]})
    text = discussion_services.clean_optional_text("text", text, FLAG_TEXT_MAX_LENGTH)
    reply = Reply.objects.filter(pk=reply_id, state=Reply.State.VISIBLE).first()
    if reply is None:
        raise Http404("No such reply.")
    if Flag.objects.filter(reporter=actor, reply=reply, state=Flag.State.OPEN).exists():
        raise ValidationError({"reply": ["You already have an open flag on this reply."]})
    try:
        with transaction.atomic():
            return Flag.objects.create(reply=reply, reporter=actor, reason=reason, text=text)
    except IntegrityError:  # the same user flagging twice at once: the database keeps one
        raise ValidationError({"reply": ["You already have an open flag on this reply."]}) from None


def _flags_close(*, actor, flags, state: str, action: str) -> None:
    now = timezone.now()
    for flag in flags:
        before = flag.state
        flag.state, flag.handled_by, flag.handled_at = state, actor, now
        flag.save(update_fields=["state", "handled_by", "handled_at"])
        _log(
            actor=actor,
            action=action,
            target_type="flag",
            target=flag,
            reason=flag.reason,
            before={"state": before},
            after={"state": state},
        )


@transaction.atomic
def flag_resolve(*, actor, flag_id: int) -> Flag:
    """Accept a flag: hide its reply and close every open flag on that reply."""
    _refuse_unless_moderator(actor)
    reply_id = Flag.objects.filter(pk=flag_id, state=Flag.State.OPEN).values_list("reply_id", flat=True).first()
    # Every open flag of the reply locked at once, in key order, before the reply row: two moderators
    # resolving two flags of one reply then queue instead of each holding what the other needs.
    siblings = list(Flag.objects.select_for_update().filter(reply_id=reply_id, state=Flag.State.OPEN).order_by("pk"))
    flag = next((f for f in siblings if f.pk == flag_id), None)
    if flag is None:
        raise Http404("No open flag with that id.")
    reply_state = Reply.objects.filter(pk=flag.reply_id).values_list("state", flat=True).first()
    if reply_state == Reply.State.VISIBLE:
        reply_hide(actor=actor, reply_id=flag.reply_id, reason=f"Flag #{flag.pk}: {flag.reason}. {flag.text}".strip())
    _flags_close(actor=actor, flags=siblings, state=Flag.State.RESOLVED, action=ModerationAction.Action.RESOLVE_FLAG)
    return flag


@transaction.atomic
def flag_dismiss(*, actor, flag_id: int) -> Flag:
    """Reject a flag: the reply stays as it is."""
    _refuse_unless_moderator(actor)
    flag = Flag.objects.select_for_update().filter(pk=flag_id, state=Flag.State.OPEN).first()
    if flag is None:
        raise Http404("No open flag with that id.")
    _flags_close(actor=actor, flags=[flag], state=Flag.State.DISMISSED, action=ModerationAction.Action.DISMISS_FLAG)
    return flag


def user_is_suspended(user) -> Suspension | None:
    """The suspension in force for this user now, if any."""
    if not user or not user.is_authenticated:
        return None
    return Suspension.objects.filter(Suspension.active_q(), user=user).order_by("-starts_at").first()


@transaction.atomic
def user_suspend(*, actor, user, reason: str, ends_at=None) -> Suspension:
    """Suspend a user from writing, until `ends_at` or until lifted."""
    _refuse_unless_moderator(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the user is suspended."]})
    now = timezone.now()
    if ends_at is not None and ends_at <= now:
        raise ValidationError({"ends_at": ["The end must be in the future."]})
    if user.pk == actor.pk:
        raise ValidationError({"user": ["You cannot suspend yourself."]})
    suspension = Suspension.objects.create(user=user, reason=reason, starts_at=now, ends_at=ends_at, created_by=actor)
    _log(
        actor=actor,
        action=ModerationAction.Action.SUSPEND,
        target_type="user",
        target=user,
        reason=reason,
        after={"suspension": suspension.pk, "ends_at": ends_at.isoformat() if ends_at else None},
    )
    return suspension


@transaction.atomic
def user_unsuspend(*, actor, user, reason: str = "") -> int:
    """Lift every suspension of the user in force now; returns how many were lifted."""
    _refuse_unless_moderator(actor)
    now = timezone.now()
    active = list(Suspension.objects.select_for_update().filter(Suspension.active_q(now), user=user))
    for suspension in active:
        suspension.lifted_at, suspension.lifted_by = now, actor
        suspension.save(update_fields=["lifted_at", "lifted_by"])
    if active:
        _log(
            actor=actor,
            action=ModerationAction.Action.UNSUSPEND,
            target_type="user",
            target=user,
            reason=reason,
            before={"suspensions": [s.pk for s in active]},
        )
    return len(active)
