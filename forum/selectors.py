"""Reads about people and order."""

from django.db.models import Q
from django.utils import timezone

from forum.models import ApiToken, ModerationAction, Suspension


def suspension_in_force(user) -> Suspension | None:
    """The suspension in force for this user now, if any."""
    if not user or not user.is_authenticated:
        return None
    return Suspension.objects.filter(Suspension.active_q(), user=user).order_by("-starts_at").first()


def moderation_log_list():
    """Every moderation act, newest first, with its actor."""
    return ModerationAction.objects.select_related("actor").order_by("-created_at", "-id")


def moderation_log_of(*, target_type: str, target_id: int) -> list[ModerationAction]:
    """What moderators did to one object, oldest first."""
    return list(
        ModerationAction.objects.filter(target_type=target_type, target_id=target_id)
        .select_related("actor")
        .order_by("created_at", "id")
    )


def token_list(user) -> list[ApiToken]:
    """The user's tokens that still work, newest first (never their secrets: only digests are stored)."""
    return list(
        ApiToken.objects.filter(Q(expiry=None) | Q(expiry__gt=timezone.now()), user=user).order_by("-created", "-id")
    )
