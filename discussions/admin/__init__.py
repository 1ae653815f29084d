"""The debate's admin, built on forum.admin.base. Importing each module registers its model admin."""

from discussions.admin import embed_origin, flag, reply, thread, topic, vote

__all__ = ["embed_origin", "flag", "reply", "thread", "topic", "vote"]
