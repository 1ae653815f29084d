"""Reads about people and order."""

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from forum.models import ApiToken, ModerationAction, Suspension


def suspension_in_force(user) -> Suspension | None:
    """The suspension in force for this user now, if any."""
    if not user or not user.is_authenticated:
        return None
    return Suspension.objects.filter(Suspension.active_q(), user=user).order_by("-starts_at").first()


def suspension_in_force_sql(user_column: str) -> str:
    """SQL telling whether the user in `user_column` (the outer query's quoted "table"."column") has a
    suspension in force: the test of Suspension.active_q, taking the time (adapted) twice as parameters."""
    # Raw SQL because token authentication adds it to every request, and the ORM's Exists of active_q took
    # longer to compile in Python than the lookup takes to run.
    table = connection.ops.quote_name(Suspension._meta.db_table)
    return (
        f"EXISTS (SELECT 1 FROM {table} s WHERE s.user_id = {user_column} AND s.lifted_at IS NULL "
        "AND s.starts_at <= %s AND (s.ends_at IS NULL OR s.ends_at > %s))"
    )


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
