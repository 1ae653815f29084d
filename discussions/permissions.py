"""Who may act on what: one definition shared by services, views and the forum app."""

MODERATE_REPLY = "discussions.moderate_reply"


def can_moderate(user) -> bool:
    """Moderators hold the reply-moderation permission (superusers hold every permission)."""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(MODERATE_REPLY))
