"""What a reader is told about: notifications, their unread counter, and how closely they follow a thread."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# The most notifications one request may mark read by id (`all` has no limit).
READ_IDS_MAX = 500


class Notification(models.Model):
    """One reader told of one reply (or of a moderator's act on theirs), built from an outbox event."""

    class Kind(models.TextChoices):
        # In priority order: a reader who is both mentioned and answered is told once, of the mention.
        MENTION = "mention", "mentioned you"
        QUOTE = "quote", "quoted you"
        REPLY = "reply", "answered you"
        WATCHED = "watched", "new reply in a watched thread"
        MODERATION = "moderation", "a moderator acted on your reply"

    # What a notification points at is never deleted (moderation hides, withdrawal withdraws, nothing erases,
    # accounts are deactivated), so its references carry no database constraint: a reply with 1,000 watchers
    # would otherwise check 5,000 rows at its commit. `user` is indexed by the indexes below, which lead with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="notifications",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    topic = models.ForeignKey(
        "discussions.Topic", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    thread = models.ForeignKey(
        "discussions.Thread", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    reply = models.ForeignKey(
        "discussions.Reply", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    # The outbox row it came from (not a foreign key: events are pruned, notifications stay). The user's
    # live stream replays notifications by it.
    event_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # By reply first: a reply's notifications land together in this index, not in a page per reader.
            models.UniqueConstraint(
                fields=["reply", "user"], condition=~Q(kind="moderation"), name="notification_one_per_reply_user"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["mention", "quote", "reply", "watched", "moderation"]),
                name="notification_kind_valid",
            ),
        ]
        # One index by reader: a reply with 1,000 watchers writes an entry in 1,000 places of each such index, the
        # fan-out's main cost. It serves a reader's list (newest first, by event), their live stream's replay (an
        # event id range), and, with read_at in it, the unread list and "mark all read" (filtered in the index).
        indexes = [models.Index(fields=["user", "-event_id", "-id", "read_at"], name="notification_user_event_idx")]

    def __str__(self):
        return f"{self.kind} for user {self.user_id} on reply #{self.reply_id}"


class NotificationInbox(models.Model):
    """A reader's counts, moved with every notification written or read (never a COUNT); no row means zeros."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.PROTECT, related_name="notification_inbox"
    )
    unread = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0, help_text="Every notification the reader has, read or not.")

    def __str__(self):
        return f"{self.unread} unread for user {self.user_id}"


class ThreadSubscription(models.Model):
    """How closely a reader follows a thread; without a row they are `normal` there."""

    class Level(models.TextChoices):
        WATCHING = "watching", "every new reply"
        NORMAL = "normal", "replies to me, mentions and quotes"
        MUTED = "muted", "nothing"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    thread = models.ForeignKey("discussions.Thread", on_delete=models.PROTECT, related_name="subscriptions")
    level = models.CharField(max_length=8, choices=Level.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "thread"], name="subscription_one_per_user_thread"),
            models.CheckConstraint(
                condition=Q(level__in=["watching", "normal", "muted"]), name="subscription_level_valid"
            ),
        ]
        # The fan-out reads a thread's watchers and its muted readers.
        indexes = [models.Index(fields=["thread", "level"], name="subscription_thread_level_idx")]

    def __str__(self):
        return f"user {self.user_id} {self.level} thread {self.thread_id}"
