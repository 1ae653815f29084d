"""The debate's admin, built on forum.admin.base. Importing each module registers its model admin."""

from discussions.admin import flag, reply, thread, topic, vote

__all__ = ["flag", "reply", "thread", "topic", "vote"]
