"""Who may do what: the checks every write service runs, and the DRF permission built on them."""

from django.utils import formats
from rest_framework import permissions

from forum.errors import NotAllowed
from forum.selectors import suspension_in_force

# Where token authentication leaves its answer to "is a suspension in force?" on the user it loaded.
_SUSPENDED = "_suspension_in_force"

# Permissions stored in the database on discussions' models, named by string: checking them imports nothing.
MODERATE_REPLY = "discussions.moderate_reply"
MANAGE_TOPIC = "discussions.manage_topic"


def can_moderate(user) -> bool:
    """Moderators hold the reply-moderation permission (superusers hold every permission)."""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(MODERATE_REPLY))


def can_manage_topics(user) -> bool:
    """Topic managers create topics and edit their text; being staff grants nothing by itself."""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(MANAGE_TOPIC))


def refuse_unless_topic_manager(actor) -> None:
    if not can_manage_topics(actor):
        raise NotAllowed("Only topic managers may create or edit topics.")


def refuse_unless_moderator(actor) -> None:
    if not can_moderate(actor):
        raise NotAllowed("Only moderators may do this.")


def suspension_checked(user, in_force: bool) -> None:
    """Remember on this request's `user` whether a suspension was in force when it authenticated."""
    setattr(user, _SUSPENDED, in_force)


def refuse_if_suspended(actor) -> None:
    """A suspended user keeps reading, but every write refuses them saying until when and why.

    `actor` None is the system (seed and maintenance commands), never suspended.
    """
    # The token lookup already answered for this request's user: no query when none was in force. Users
    # from anywhere else (session, admin, commands, tests) carry no answer and are looked up.
    if getattr(actor, _SUSPENDED, None) is False:
        return
    suspension = suspension_in_force(actor)
    if suspension is None:
        return
    until = formats.date_format(suspension.ends_at, "DATETIME_FORMAT") if suspension.ends_at else "lifted"
    raise NotAllowed(f"Your account is suspended until {until}: {suspension.reason}")


class IsModerator(permissions.BasePermission):
    message = "Only moderators may see this."

    def has_permission(self, request, view):
        return can_moderate(request.user)
