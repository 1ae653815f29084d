"""Writes about people and order: accounts and tokens, suspensions, and the moderation log's one writer."""

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from forum.errors import Conflict, Invalid, NotFound, RateLimited
from forum.models import ApiToken, ModerationAction, Suspension
from forum.permissions import refuse_unless_moderator

USERNAME_TAKEN = "A user with that username already exists."


def user_register(*, username: str, password: str, email: str = ""):
    """Create an account after Django's password validators have passed."""
    User = get_user_model()
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise Invalid({"password": exc.messages}) from None
    candidate.set_password(password)
    try:
        with transaction.atomic(durable=True):
            if User.objects.filter(username__iexact=username).exists():
                raise Invalid.on("username", USERNAME_TAKEN)
            candidate.save()
    except IntegrityError:  # two registrations racing for one name; caught outside the rolled-back transaction
        raise Invalid.on("username", USERNAME_TAKEN) from None
    return candidate


def _token_issue(user) -> tuple[ApiToken, str]:
    """A new token for one login (one device); the user's expired ones go. Runs in the caller's transaction."""
    now = timezone.now()
    ApiToken.objects.filter(user=user, expiry__lte=now).delete()
    token, key = ApiToken.objects.create(user=user, last_used_at=now)
    return token, key


def token_obtain(*, username: str, password: str, request) -> tuple[ApiToken, str]:
    """Exchange credentials for a new API token (one per login, expiring); returns it and its secret key.

    `request` (the HttpRequest) goes to Django's authenticate, where django-axes counts failures per username
    and address (forum/lockout.py); once locked, even the right password is refused until the window passes.
    """
    user = authenticate(request, username=username, password=password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            raise RateLimited(
                "Too many failed logins from this address; try again later.", wait=settings.LOGIN_FAILURE_WINDOW
            )
        raise Invalid.on("non_field_errors", "Unable to log in with the given username and password.")
    with transaction.atomic(durable=True):
        return _token_issue(user)


def token_revoke(*, user, token_id: int) -> None:
    """End one of the user's own tokens (logging out, or revoking another device); others' are not found."""
    with transaction.atomic(durable=True):
        deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise NotFound("No such token.")


def password_change(*, user, old_password: str, new_password: str) -> tuple[ApiToken, str]:
    """Change the password after checking the old one; every earlier token ends and a fresh one is issued."""
    if not user.check_password(old_password):
        raise Invalid.on("old_password", "The current password is not correct.")
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise Invalid({"new_password": exc.messages}) from None
    with transaction.atomic(durable=True):
        user.set_password(new_password)
        user.save(update_fields=["password"])
        ApiToken.objects.filter(user=user).delete()
        return _token_issue(user)


def moderation_log_append(
    *, actor, action: str, target_type: str, target, reason: str = "", before=None, after=None
) -> ModerationAction:
    """Append a moderation act to the log; called by every moderating service inside its own transaction."""
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


def user_suspend(*, actor, user, reason: str, ends_at=None) -> Suspension:
    """Suspend a user from writing, until `ends_at` or until lifted."""
    refuse_unless_moderator(actor)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid.on("reason", "Say why the user is suspended.")
    now = timezone.now()
    if ends_at is not None and ends_at <= now:
        raise Invalid.on("ends_at", "The end must be in the future.")
    if user.pk == actor.pk:
        raise Invalid.on("user", "You cannot suspend yourself.")
    with transaction.atomic(durable=True):
        suspension = Suspension.objects.create(
            user=user, reason=reason, starts_at=now, ends_at=ends_at, created_by=actor
        )
        moderation_log_append(
            actor=actor,
            action=ModerationAction.Action.SUSPEND,
            target_type="user",
            target=user,
            reason=reason,
            after={"suspension": suspension.pk, "ends_at": ends_at.isoformat() if ends_at else None},
        )
    return suspension


def user_unsuspend(*, actor, user, reason: str = "") -> int:
    """Lift every suspension of the user in force now; refused when none is."""
    refuse_unless_moderator(actor)
    now = timezone.now()
    with transaction.atomic(durable=True):
        active = list(Suspension.objects.select_for_update().filter(Suspension.active_q(now), user=user))
        if not active:
            raise Conflict(f"{user} has no suspension in force.")
        for suspension in active:
            suspension.lifted_at, suspension.lifted_by = now, actor
            suspension.save(update_fields=["lifted_at", "lifted_by"])
        moderation_log_append(
            actor=actor,
            action=ModerationAction.Action.UNSUSPEND,
            target_type="user",
            target=user,
            reason=reason,
            before={"suspensions": [s.pk for s in active]},
        )
    return len(active)
