"""The base layer: accounts, suspensions and the moderation log. Nothing here knows the debate's models."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class User(AbstractUser):
    """The forum's account; its own model from the first migration so it can grow fields later."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class ApiToken(AbstractAuthToken):
    """One login's API token (one per device): knox keeps only its digest; it expires and can be revoked."""

    # knox keys tokens by digest; an integer id is what a client lists and revokes by.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    # Moved at most once a minute (forum.authentication), so reading with a token is not a write each time.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created"], name="apitoken_user_idx")]

    def __str__(self):
        return f"token {self.token_key[:8]}… of user {self.user_id}"


class IdempotencyKey(models.Model):
    """The first answer to a creating request sent with an Idempotency-Key, replayed to retries for a day."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: the same key with another request is refused, not replayed.
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_one_per_user_and_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self):
        return f"idempotency key {self.key!r} of user {self.user_id}"


class Suspension(models.Model):
    """A period in which a user may read but not write; lifted early or ending on its own."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="suspensions")
    reason = models.TextField()
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until lifted.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["user", "lifted_at"], name="suspension_user_idx")]

    def __str__(self):
        return f"suspension of user {self.user_id} from {self.starts_at:%Y-%m-%d}"

    @classmethod
    def active_q(cls, now=None) -> Q:
        now = now or timezone.now()
        return Q(lifted_at=None, starts_at__lte=now) & (Q(ends_at=None) | Q(ends_at__gt=now))


class ModerationAction(models.Model):
    """Append-only record of a moderation act, written in the same transaction as the act."""

    class Action(models.TextChoices):
        HIDE = "hide", "hide reply"
        RESTORE = "restore", "restore reply"
        CHANGE_STANCE = "change-stance", "change stance"
        EDIT_REPLY = "edit-reply", "edit someone else's reply"
        WITHDRAW_REPLY = "withdraw-reply", "withdraw someone else's reply"
        LOCK_THREAD = "lock-thread", "lock thread"
        UNLOCK_THREAD = "unlock-thread", "unlock thread"
        PIN_THREAD = "pin-thread", "pin thread"
        UNPIN_THREAD = "unpin-thread", "unpin thread"
        CREATE_TOPIC = "create-topic", "create topic"
        EDIT_TOPIC = "edit-topic", "edit topic"
        LOCK_TOPIC = "lock-topic", "lock topic"
        UNLOCK_TOPIC = "unlock-topic", "unlock topic"
        RESOLVE_FLAG = "resolve-flag", "resolve flag (hide reply)"
        DISMISS_FLAG = "dismiss-flag", "dismiss flag"
        SUSPEND = "suspend", "suspend user"
        UNSUSPEND = "unsuspend", "lift suspension"
        ALLOW_EMBED = "allow-embed", "allow a site to embed"
        CHANGE_EMBED = "change-embed", "change an allowed site"
        DISALLOW_EMBED = "disallow-embed", "stop allowing a site"

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    target_type = models.CharField(max_length=20, help_text="reply, thread, topic, flag, user or embed-origin")
    target_id = models.BigIntegerField()
    target_repr = models.CharField(max_length=200)
    reason = models.TextField(blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="modlog_recent_idx"),
            models.Index(fields=["target_type", "target_id"], name="modlog_target_idx"),
            models.Index(fields=["actor", "-created_at"], name="modlog_actor_idx"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.target_type} #{self.target_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("The moderation log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("The moderation log is append-only.")
