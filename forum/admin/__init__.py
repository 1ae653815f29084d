"""forum's admin: people and order. Importing each module registers its model admin."""

from forum.admin import moderation_action, suspension, user

__all__ = ["moderation_action", "suspension", "user"]
