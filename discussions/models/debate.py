"""The debate: topics with their stances, threads, stance-tagged replies, votes, positions, tallies and flags."""

from django.conf import settings
from django.db import models
from django.db.models import F, JSONField, Q, Value
from django.utils import timezone

# Partial indexes cover only what readers can see; withdrawn and hidden rows never enter them.
VISIBLE_ONLY = Q(state="visible")


class Topic(models.Model):
    """A debate question; its stances are the sides people argue from."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    question = models.TextField()
    description = models.TextField(blank=True)
    is_locked = models.BooleanField(default=False, help_text="A locked topic refuses new threads and replies.")
    # Maintained by the services in the same transaction as the write that changes them.
    thread_count = models.PositiveIntegerField(default=0, editable=False)
    reply_count = models.PositiveIntegerField(default=0, editable=False)
    participant_count = models.PositiveIntegerField(default=0, editable=False)
    shift_count = models.PositiveIntegerField(default=0, editable=False, help_text="Changes of declared position.")
    # The article this debate sits under, as staff wrote it; source_key is its normalised form (discussions/
    # embedding.py), unique, what GET /api/embed/?url= looks up. Both set by the topic services only.
    source_url = models.CharField(
        max_length=2000, blank=True, default="", help_text="The article's address; readers' variants find it too."
    )
    source_key = models.CharField(max_length=2000, null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="topic_created_idx")]
        # Held by the "Topic managers" group (discussions migration 0007) and by superusers; staff alone is not.
        permissions = [("manage_topic", "Can create topics and edit their text")]

    def __str__(self):
        return self.title


class Stance(models.Model):
    """One side of a topic; slugs are unique within their topic only."""

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="stances")
    slug = models.SlugField(max_length=50)
    label = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Stances are listed in this order.")

    class Meta:
        ordering = ["topic_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["topic", "slug"], name="stance_unique_slug_per_topic")]

    def __str__(self):
        return f"{self.topic.slug}/{self.slug}"


class Thread(models.Model):
    """A line of argument within a topic, opened by its first reply."""

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="threads")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="threads")
    title = models.CharField(max_length=200)
    # Set in the same transaction that creates the thread; null only inside that transaction.
    opening_reply = models.OneToOneField(
        "Reply", null=True, blank=True, on_delete=models.PROTECT, related_name="opened_thread", editable=False
    )
    reply_count = models.PositiveIntegerField(default=0, editable=False)
    participant_count = models.PositiveIntegerField(default=0, editable=False)
    is_locked = models.BooleanField(default=False)
    is_pinned = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-is_pinned", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["topic", "-is_pinned", "-created_at", "-id"], name="thread_topic_recent_idx"),
            models.Index(fields=["topic", "-last_activity_at", "-id"], name="thread_topic_active_idx"),
            models.Index(fields=["topic", "created_at", "id"], name="thread_topic_oldest_idx"),
            models.Index(fields=["topic", "-reply_count", "-id"], name="thread_topic_busiest_idx"),
            models.Index(fields=["-is_pinned", "-created_at", "-id"], name="thread_recent_idx"),
            models.Index(fields=["author", "-created_at"], name="thread_author_idx"),
        ]

    def __str__(self):
        return self.title


class Reply(models.Model):
    """A stance-tagged post in a thread; only visible replies count anywhere."""

    class State(models.TextChoices):
        VISIBLE = "visible", "visible"
        WITHDRAWN = "withdrawn", "withdrawn by its author"
        HIDDEN = "hidden", "hidden by a moderator"

    # Denormalised from thread.topic: topic-wide lists and rankings then read one index.
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="replies", editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="replies")
    # Indexed below for answers only (parent not null): with an index holding the NULLs too, SQLite planned
    # ?is_root=true as "parent_id IS NULL" on it, thought it a few rows, and sorted every root of the topic.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", db_index=False
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="replies")
    stance = models.ForeignKey(Stance, on_delete=models.PROTECT, related_name="replies")
    body = models.TextField(help_text="Exactly what the author wrote (Markdown).")
    # Rendered and sanitised on every write (discussions/formatting.py), never on a read.
    # Database defaults too, so bulk loads (COPY) that name only the old columns still insert.
    body_html = models.TextField(blank=True, default="", db_default="", editable=False)
    render_version = models.PositiveSmallIntegerField(
        default=0, db_default=0, editable=False, help_text="The renderer that made body_html; 0: not rendered yet."
    )
    # Read with the reply, no join: usernames mentioned and reply ids quoted, in the order written.
    mentions = models.JSONField(default=list, db_default=Value([], JSONField()), blank=True, editable=False)
    quotes = models.JSONField(default=list, db_default=Value([], JSONField()), blank=True, editable=False)
    # The same as relations, for who was mentioned or quoted where (notifications, "quoted by").
    mentioned_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in", editable=False
    )
    quoted_replies = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="quoted_by", editable=False
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.VISIBLE)
    upvotes = models.PositiveIntegerField(default=0, editable=False)
    downvotes = models.PositiveIntegerField(default=0, editable=False)
    score = models.IntegerField(default=0, editable=False)
    # Lower bound of the Wilson interval of upvotes among votes: the "best" ordering, stored so a
    # page of best replies is an index scan.
    wilson = models.FloatField(default=0.0, editable=False)
    # (up + down) ^ (min / max): many votes, evenly split.
    controversy = models.FloatField(default=0.0, editable=False)
    # Lowest Wilson bound among the votes of each stance: high only when every side rates it up.
    bridging = models.FloatField(default=0.0, editable=False)
    # {stance slug: {"up": n, "down": n}} over active votes, by the voter's stance when they voted.
    votes_by_stance = models.JSONField(default=dict, editable=False)
    # How many position changes named this reply as what persuaded them.
    persuaded_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    hidden_at = models.DateTimeField(null=True, blank=True, editable=False)
    hidden_reason = models.TextField(blank=True, editable=False)

    class Meta:
        verbose_name_plural = "replies"
        ordering = ["created_at", "id"]
        permissions = [("moderate_reply", "Can moderate replies (edit, withdraw, hide any reply)")]
        constraints = [
            models.CheckConstraint(
                condition=Q(score=F("upvotes") - F("downvotes")), name="reply_score_is_up_minus_down"
            ),
            models.CheckConstraint(condition=Q(state__in=["visible", "withdrawn", "hidden"]), name="reply_state_valid"),
            models.CheckConstraint(condition=Q(wilson__gte=0) & Q(wilson__lte=1), name="reply_wilson_in_unit_range"),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="reply_not_own_parent"),
        ]
        indexes = [
            models.Index(fields=["thread", "created_at", "id"], condition=VISIBLE_ONLY, name="reply_thread_new_idx"),
            models.Index(fields=["thread", "-wilson", "-id"], condition=VISIBLE_ONLY, name="reply_thread_best_idx"),
            models.Index(fields=["thread", "-score", "-id"], condition=VISIBLE_ONLY, name="reply_thread_score_idx"),
            models.Index(fields=["topic", "created_at", "id"], condition=VISIBLE_ONLY, name="reply_topic_new_idx"),
            models.Index(fields=["topic", "-wilson", "-id"], condition=VISIBLE_ONLY, name="reply_topic_best_idx"),
            models.Index(fields=["topic", "-score", "-id"], condition=VISIBLE_ONLY, name="reply_topic_score_idx"),
            # A stance belongs to one topic, so these serve ?topic=…&stance=… in each ordering (and the summary's
            # top replies per stance).
            models.Index(fields=["stance", "-wilson", "-id"], condition=VISIBLE_ONLY, name="reply_stance_best_idx"),
            models.Index(fields=["stance", "created_at", "id"], condition=VISIBLE_ONLY, name="reply_stance_new_idx"),
            models.Index(fields=["stance", "-score", "-id"], condition=VISIBLE_ONLY, name="reply_stance_score_idx"),
            models.Index(
                fields=["stance", "-controversy", "-id"], condition=VISIBLE_ONLY, name="reply_stance_contro_idx"
            ),
            models.Index(
                fields=["thread", "stance", "-wilson", "-id"],
                condition=VISIBLE_ONLY,
                name="reply_thread_stance_best_idx",
            ),
            models.Index(
                fields=["thread", "-controversy", "-id"], condition=VISIBLE_ONLY, name="reply_thread_contro_idx"
            ),
            models.Index(
                fields=["topic", "-controversy", "-id"], condition=VISIBLE_ONLY, name="reply_topic_contro_idx"
            ),
            models.Index(
                fields=["topic", "-bridging", "-id"],
                condition=VISIBLE_ONLY & Q(bridging__gt=0),
                name="reply_bridging_idx",
            ),
            models.Index(
                fields=["topic", "-persuaded_count", "-id"],
                condition=VISIBLE_ONLY & Q(persuaded_count__gt=0),
                name="reply_persuasive_idx",
            ),
            # One author's replies, in one topic (and the voter's latest reply there, the side of their vote) or
            # in all; also what a profile counts.
            models.Index(
                fields=["author", "topic", "created_at", "id"], condition=VISIBLE_ONLY, name="reply_author_topic_idx"
            ),
            models.Index(fields=["author", "created_at", "id"], condition=VISIBLE_ONLY, name="reply_author_new_idx"),
            # The answers to a reply, in conversation order (?parent=ID).
            models.Index(
                fields=["parent", "created_at", "id"],
                condition=VISIBLE_ONLY & Q(parent__isnull=False),
                name="reply_parent_new_idx",
            ),
            # ?is_root=true.
            models.Index(
                fields=["topic", "created_at", "id"],
                condition=VISIBLE_ONLY & Q(parent__isnull=True),
                name="reply_topic_roots_idx",
            ),
            models.Index(fields=["created_at", "id"], condition=VISIBLE_ONLY, name="reply_new_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} ({self.stance.slug}) {self.body[:60]}"

    @property
    def is_visible(self):
        return self.state == self.State.VISIBLE


class ReplyRevision(models.Model):
    """An earlier body and stance of a reply, kept when it is edited so nothing written is lost."""

    reply = models.ForeignKey(Reply, on_delete=models.PROTECT, related_name="revisions")
    body = models.TextField()
    stance = models.ForeignKey(Stance, on_delete=models.PROTECT, related_name="+")
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["reply_id", "created_at", "id"]

    def __str__(self):
        return f"revision of #{self.reply_id} at {self.created_at:%Y-%m-%d %H:%M}"


class Vote(models.Model):
    """One user's vote on one reply; a retraction is kept, marked, never erased."""

    class Value(models.IntegerChoices):
        UP = 1, "up"
        DOWN = -1, "down"

    # No index of their own: (user, reply) and (reply, value) below lead with them, and each extra index
    # is written on every vote.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="votes", db_index=False)
    reply = models.ForeignKey(Reply, on_delete=models.PROTECT, related_name="votes", db_index=False)
    value = models.SmallIntegerField(choices=Value.choices)
    # The voter's side when they cast this vote: declared position, else their latest reply's stance.
    voter_stance = models.ForeignKey(Stance, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # When the current value was cast (a flip or a vote after a retraction recasts it).
    cast_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    retracted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "reply"], name="vote_one_per_user_and_reply"),
            models.CheckConstraint(condition=Q(value__in=[-1, 1]), name="vote_value_up_or_down"),
        ]
        indexes = [models.Index(fields=["reply", "value"], name="vote_reply_value_idx")]

    def __str__(self):
        return f"{self.get_value_display()} on #{self.reply_id} by user {self.user_id}"


class Position(models.Model):
    """A user's declared side on a topic from `since` until `until`; the open row is the current one."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="positions")
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="positions")
    stance = models.ForeignKey(Stance, on_delete=models.PROTECT, related_name="positions")
    persuaded_by = models.ForeignKey(Reply, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField(default=timezone.now)
    until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["topic_id", "user_id", "since", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "topic"], condition=Q(until__isnull=True), name="position_one_current_per_topic"
            )
        ]
        indexes = [models.Index(fields=["user", "topic", "since"], name="position_history_idx")]

    def __str__(self):
        return f"user {self.user_id} on {self.topic_id}: stance {self.stance_id} since {self.since:%Y-%m-%d}"


class StanceTally(models.Model):
    """Per-stance counters of a topic (thread null) or of one thread, kept by the services on every write."""

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="tallies")
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.PROTECT, related_name="tallies")
    stance = models.ForeignKey(Stance, on_delete=models.PROTECT, related_name="tallies")
    replies = models.PositiveIntegerField(default=0)
    participants = models.PositiveIntegerField(default=0)
    upvotes = models.PositiveIntegerField(default=0)
    downvotes = models.PositiveIntegerField(default=0)
    positions = models.PositiveIntegerField(default=0, help_text="Users whose current position is this stance.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "stance"], condition=Q(thread__isnull=True), name="tally_one_per_topic_stance"
            ),
            models.UniqueConstraint(
                fields=["thread", "stance"], condition=Q(thread__isnull=False), name="tally_one_per_thread_stance"
            ),
        ]

    def __str__(self):
        return f"tally of stance {self.stance_id} in topic {self.topic_id} thread {self.thread_id}"


class Participation(models.Model):
    """How many visible replies a user has in a scope; a move between 0 and 1 moves its participant count.

    The scope is the topic (thread null) or one thread, for one stance or for all of them (stance null).
    """

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="+")
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    stance = models.ForeignKey(Stance, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    replies = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "user"], condition=Q(thread=None, stance=None), name="part_topic_user"
            ),
            models.UniqueConstraint(
                fields=["topic", "stance", "user"],
                condition=Q(thread=None, stance__isnull=False),
                name="part_topic_stance_user",
            ),
            models.UniqueConstraint(
                fields=["thread", "user"], condition=Q(thread__isnull=False, stance=None), name="part_thread_user"
            ),
            models.UniqueConstraint(
                fields=["thread", "stance", "user"],
                condition=Q(thread__isnull=False, stance__isnull=False),
                name="part_thread_stance_user",
            ),
        ]

    def __str__(self):
        return f"user {self.user_id}: {self.replies} replies in topic {self.topic_id} thread {self.thread_id}"


class DailyTally(models.Model):
    """One topic's per-stance activity on one UTC day: the source of the summary's history."""

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="+")
    stance = models.ForeignKey(Stance, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    replies = models.IntegerField(default=0, help_text="Visible replies created that day.")
    upvotes = models.IntegerField(default=0, help_text="Active upvotes on visible replies, cast that day.")
    positions_delta = models.IntegerField(default=0, help_text="Positions taken minus positions left that day.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "stance", "day"], name="daily_one_per_stance_day")]
        indexes = [models.Index(fields=["topic", "day"], name="daily_topic_day_idx")]

    def __str__(self):
        return f"{self.day} stance {self.stance_id}"


class Flag(models.Model):
    """A reader's report of a reply; open flags form the moderators' queue."""

    class Reason(models.TextChoices):
        SPAM = "spam", "spam"
        ABUSE = "abuse", "abuse"
        OFF_TOPIC = "off-topic", "off-topic"
        WRONG_STANCE = "wrong-stance", "wrong stance"
        OTHER = "other", "other"

    class State(models.TextChoices):
        OPEN = "open", "open"
        RESOLVED = "resolved", "resolved: reply hidden"
        DISMISSED = "dismissed", "dismissed"

    reply = models.ForeignKey(Reply, on_delete=models.PROTECT, related_name="flags")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="flags")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    text = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Flags were forum's until the apps were layered; the table kept its name.
        db_table = "forum_flag"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "reply"], condition=Q(state="open"), name="flag_one_open_per_user_and_reply"
            ),
            models.CheckConstraint(condition=Q(state__in=["open", "resolved", "dismissed"]), name="flag_state_valid"),
        ]
        indexes = [
            models.Index(fields=["created_at", "id"], condition=Q(state="open"), name="flag_open_queue_idx"),
            models.Index(fields=["reply", "state"], name="flag_reply_state_idx"),
        ]

    def __str__(self):
        return f"{self.reason} flag on reply #{self.reply_id}"
