"""The outbox: one row per change readers can see, written in the same transaction as the change."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def _reference(model: str, **options) -> models.ForeignKey:
    """A reference with neither a constraint nor an index: the rows pointed at are never deleted."""
    return models.ForeignKey(
        model, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+", **options
    )


class Event(models.Model):
    """A change to a topic (public) or to one user's inbox (private, `user` set); streams replay these by id.

    Rows are pruned after EVENTS_KEEP_DAYS (manage.py prune_events); what they point at is never deleted, so
    the references carry no database constraint and cost the write no lookups.
    """

    class Kind(models.TextChoices):
        REPLY_POSTED = "reply-posted", "reply posted"
        REPLY_EDITED = "reply-edited", "reply edited"
        REPLY_WITHDRAWN = "reply-withdrawn", "reply withdrawn"
        REPLY_HIDDEN = "reply-hidden", "reply hidden"
        REPLY_RESTORED = "reply-restored", "reply restored"
        STANCE_CHANGED = "stance-changed", "reply's stance changed"
        VOTE_CAST = "vote-cast", "vote cast"
        VOTE_MOVED = "vote-moved", "vote moved"
        VOTE_RETRACTED = "vote-retracted", "vote retracted"
        POSITION_CHANGED = "position-changed", "position declared or changed"
        THREAD_LOCKED = "thread-locked", "thread locked or unlocked"
        THREAD_PINNED = "thread-pinned", "thread pinned or unpinned"
        TOPIC_CHANGED = "topic-changed", "topic edited or locked"
        NOTIFICATIONS_READ = "notifications-read", "notifications marked read"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    topic = _reference("discussions.Topic")
    thread = _reference("discussions.Thread")
    reply = _reference("discussions.Reply")
    actor = _reference(settings.AUTH_USER_MODEL, help_text="Who acted; null for the system.")
    user = _reference(
        settings.AUTH_USER_MODEL, help_text="The one reader a private event is for; null for a topic's public event."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # A topic stream's replay, and a user stream's, read forward from an id.
            models.Index(fields=["topic", "id"], condition=Q(topic__isnull=False), name="event_topic_idx"),
            models.Index(fields=["user", "id"], condition=Q(user__isnull=False), name="event_user_idx"),
            models.Index(fields=["created_at"], name="event_created_idx"),
        ]

    def __str__(self):
        return f"event #{self.pk} {self.kind}"
