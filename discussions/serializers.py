"""Shape and validate JSON only; the services decide what is allowed."""

from rest_framework import serializers

from discussions.models import Flag, Notification, Reply, Stance, Thread, ThreadSubscription, Topic, Vote
from discussions.models.notifications import READ_IDS_MAX
from discussions.text import BODY_MAX_LENGTH, FLAG_TEXT_MAX_LENGTH, TITLE_MAX_LENGTH
from forum.serializers import IdField, TextField


class StanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stance
        fields = ["slug", "label", "description"]
        read_only_fields = fields  # an answer, every field always in it (the schema says required)


class TopicSerializer(serializers.ModelSerializer):
    stances = StanceSerializer(many=True, read_only=True)

    class Meta:
        model = Topic
        fields = [
            "slug",
            "title",
            "question",
            "description",
            "stances",
            "thread_count",
            "reply_count",
            "is_locked",
            "source_url",
            "created_at",
        ]
        read_only_fields = fields  # an answer (the inputs are below), every field always in it


class StanceInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=50)
    label = TextField(max_length=120)
    description = TextField(required=False, allow_blank=True, default="")


class TopicCreateInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=80)
    title = TextField(max_length=TITLE_MAX_LENGTH)
    question = TextField(max_length=BODY_MAX_LENGTH)
    description = TextField(required=False, allow_blank=True, default="")
    stances = StanceInputSerializer(many=True, min_length=2)
    source_url = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="The article this debate sits under (http or https); blank for none. Unique after normalising.",
    )


class TopicUpdateInputSerializer(serializers.Serializer):
    title = TextField(max_length=TITLE_MAX_LENGTH, required=False)
    question = TextField(max_length=BODY_MAX_LENGTH, required=False)
    description = TextField(required=False, allow_blank=True)
    source_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="The article this debate sits under (http or https); blank for none. Unique after normalising.",
    )
    is_locked = serializers.BooleanField(
        required=False,
        help_text="Moderators only (403 otherwise, even unchanged); a change lands in the moderation log.",
    )


_DATETIME = serializers.DateTimeField()  # formats as every DRF DateTimeField here does (settings' format and zone)


class VoteCountSerializer(serializers.Serializer):
    up = serializers.IntegerField()
    down = serializers.IntegerField()


# Serialises the rows of selectors.reply_list(), which carry the topic's and stance's slugs and the author's
# name as columns (no docstring: it would become the schema's description of a reply).
class ReplySerializer(serializers.ModelSerializer):
    thread = serializers.IntegerField(source="thread_id", read_only=True)
    topic = serializers.SlugField(source="topic_slug", read_only=True)
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)
    author = serializers.CharField(source="author_username", read_only=True)
    author_id = serializers.IntegerField(read_only=True)
    stance = serializers.SlugField(source="stance_slug", read_only=True)
    best = serializers.FloatField(
        source="wilson", read_only=True, help_text="Wilson lower bound (95%) of the upvote share: the `best` ordering."
    )
    controversy = serializers.FloatField(read_only=True, help_text="(up+down)^(min/max): the `controversial` ordering.")
    bridging = serializers.FloatField(
        read_only=True, help_text="Lowest Wilson bound over the votes of each stance (0 below 3 votes from a stance)."
    )
    body_html = serializers.CharField(
        read_only=True, help_text="The body rendered from Markdown and sanitised (stored at each write)."
    )
    mentions = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Usernames mentioned as @username (at most 10)."
    )
    quotes = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, help_text="Ids of the replies quoted with [quote=ID]."
    )
    votes_by_stance = serializers.DictField(
        child=VoteCountSerializer(),
        read_only=True,
        help_text="Active votes by the voter's stance when they voted: {stance slug: {up, down}}.",
    )

    class Meta:
        model = Reply
        fields = [
            "id",
            "thread",
            "topic",
            "parent",
            "author",
            "author_id",
            "body",
            "body_html",
            "mentions",
            "quotes",
            "stance",
            "upvotes",
            "downvotes",
            "score",
            "best",
            "controversy",
            "bridging",
            "votes_by_stance",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, reply):
        # Built by hand: the JSON the declared fields above give (tests/test_reading_replies.py holds the two
        # equal), without DRF's walk over seventeen field objects per reply; a page lists twenty, a summary
        # fifteen, and that walk was a third of the reply page's time.
        moment = _DATETIME.to_representation
        return {
            "id": reply.pk,
            "thread": reply.thread_id,
            "topic": reply.topic_slug,
            "parent": reply.parent_id,
            "author": reply.author_username,
            "author_id": reply.author_id,
            "body": reply.body,
            "body_html": reply.body_html,
            "mentions": list(reply.mentions),
            "quotes": list(reply.quotes),
            "stance": reply.stance_slug,
            "upvotes": reply.upvotes,
            "downvotes": reply.downvotes,
            "score": reply.score,
            "best": float(reply.wilson),
            "controversy": float(reply.controversy),
            "bridging": float(reply.bridging),
            "votes_by_stance": {
                slug: {"up": int(count["up"]), "down": int(count["down"])}
                for slug, count in reply.votes_by_stance.items()
            },
            "created_at": moment(reply.created_at),
            "updated_at": moment(reply.updated_at),
        }


class ReplyCreateInputSerializer(serializers.Serializer):
    thread = IdField()
    body = TextField(max_length=BODY_MAX_LENGTH)
    stance = serializers.SlugField(max_length=50)
    parent = IdField(required=False, allow_null=True, default=None)


class ReplyUpdateInputSerializer(serializers.Serializer):
    body = TextField(max_length=BODY_MAX_LENGTH, required=False)
    stance = serializers.SlugField(max_length=50, required=False)


# Serialises the rows of selectors.thread_list(), which carry the names and the opening post's text as columns.
class ThreadSerializer(serializers.ModelSerializer):
    topic = serializers.SlugField(source="topic_slug", read_only=True)
    author = serializers.CharField(source="author_username", read_only=True)
    author_id = serializers.IntegerField(read_only=True)
    opening_reply = serializers.IntegerField(source="opening_reply_id", read_only=True)
    body = serializers.SerializerMethodField(help_text="The opening post's text; null once it is withdrawn or hidden.")
    body_html = serializers.SerializerMethodField(help_text="The opening post rendered; null as `body` is.")
    stance = serializers.SerializerMethodField(
        help_text="The opening post's stance; null once it is withdrawn or hidden."
    )

    class Meta:
        model = Thread
        fields = [
            "id",
            "topic",
            "title",
            "body",
            "body_html",
            "stance",
            "author",
            "author_id",
            "opening_reply",
            "created_at",
            "updated_at",
            "last_activity_at",
            "reply_count",
            "is_locked",
            "is_pinned",
        ]
        read_only_fields = fields

    @staticmethod
    def _shown(thread) -> bool:
        return thread.opening_state == Reply.State.VISIBLE

    def get_body(self, thread) -> str | None:
        return thread.opening_body if self._shown(thread) else None

    def get_body_html(self, thread) -> str | None:
        return thread.opening_body_html if self._shown(thread) else None

    def get_stance(self, thread) -> str | None:
        return thread.opening_stance if self._shown(thread) else None

    def to_representation(self, thread):
        # Built by hand, as ReplySerializer is and for the same reason (tests/test_listing_threads.py holds it
        # equal to the declared fields): DRF's walk over fifteen field objects was most of a thread page.
        moment = _DATETIME.to_representation
        shown = self._shown(thread)
        return {
            "id": thread.pk,
            "topic": thread.topic_slug,
            "title": thread.title,
            "body": thread.opening_body if shown else None,
            "body_html": thread.opening_body_html if shown else None,
            "stance": thread.opening_stance if shown else None,
            "author": thread.author_username,
            "author_id": thread.author_id,
            "opening_reply": thread.opening_reply_id,
            "created_at": moment(thread.created_at),
            "updated_at": moment(thread.updated_at),
            "last_activity_at": moment(thread.last_activity_at),
            "reply_count": thread.reply_count,
            "is_locked": thread.is_locked,
            "is_pinned": thread.is_pinned,
        }


class ThreadCreateInputSerializer(serializers.Serializer):
    topic = serializers.SlugField(max_length=80)
    title = TextField(max_length=TITLE_MAX_LENGTH)
    body = TextField(max_length=BODY_MAX_LENGTH)
    stance = serializers.SlugField(max_length=50)


class VoteInputSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=Vote.Value.choices, help_text="1 for up, -1 for down.")


class VoteResultSerializer(serializers.Serializer):
    reply = serializers.IntegerField(help_text="The reply's id.")
    value = serializers.IntegerField(allow_null=True, help_text="The caller's vote now: 1, -1, or null.")
    upvotes = serializers.IntegerField()
    downvotes = serializers.IntegerField()
    score = serializers.IntegerField()


class StanceSummarySerializer(serializers.Serializer):
    stance = serializers.SlugField()
    label = serializers.CharField()
    replies = serializers.IntegerField()
    participants = serializers.IntegerField()
    upvotes = serializers.IntegerField()
    downvotes = serializers.IntegerField()
    score = serializers.IntegerField()
    reply_share = serializers.FloatField()
    vote_share = serializers.FloatField()
    positions = serializers.IntegerField(
        required=False, help_text="Users whose current declared position is this stance (topic summary only)."
    )


class SummarySerializer(serializers.Serializer):
    topic = serializers.SlugField()
    thread = serializers.IntegerField(required=False, help_text="Present on a thread's summary.")
    replies = serializers.IntegerField()
    participants = serializers.IntegerField()
    votes = serializers.IntegerField()
    stances = StanceSummarySerializer(many=True)
    leading = serializers.SlugField(allow_null=True)
    top_replies = serializers.DictField(child=ReplySerializer(many=True), help_text="Best replies per stance slug.")
    shifts = serializers.IntegerField(required=False, help_text="Changes of declared position (topic summary only).")
    persuasive = ReplySerializer(
        many=True, required=False, help_text="Replies most often named as what persuaded a change (topic summary only)."
    )

    def to_representation(self, summary):
        # Built by hand, as ReplySerializer is (tests/test_summaries.py holds it equal to the declared fields):
        # DRF's walk copied and visited some forty field objects per summary, a sixth of an uncached one.
        reply = ReplySerializer().to_representation
        shown = {"topic": str(summary["topic"])}
        if "thread" in summary:
            shown["thread"] = int(summary["thread"])
        for name in ("replies", "participants", "votes"):
            shown[name] = int(summary[name])
        shown["stances"] = [_stance_summary(row) for row in summary["stances"]]
        shown["leading"] = None if summary["leading"] is None else str(summary["leading"])
        shown["top_replies"] = {str(slug): [reply(r) for r in rows] for slug, rows in summary["top_replies"].items()}
        if "shifts" in summary:
            shown["shifts"] = int(summary["shifts"])
        if "persuasive" in summary:
            shown["persuasive"] = [reply(r) for r in summary["persuasive"]]
        return shown


_STANCE_SUMMARY_COUNTS = ("replies", "participants", "upvotes", "downvotes", "score")


def _stance_summary(row: dict) -> dict:
    """StanceSummarySerializer's JSON of one row, by hand."""
    shown = {"stance": str(row["stance"]), "label": str(row["label"])}
    for name in _STANCE_SUMMARY_COUNTS:
        shown[name] = int(row[name])
    shown["reply_share"], shown["vote_share"] = float(row["reply_share"]), float(row["vote_share"])
    if "positions" in row:
        shown["positions"] = int(row["positions"])
    return shown


class PositionInputSerializer(serializers.Serializer):
    stance = serializers.SlugField(max_length=50)
    persuaded_by = IdField(
        required=False, allow_null=True, default=None, help_text="Id of a visible reply of this topic."
    )


class PositionSerializer(serializers.Serializer):
    stance = serializers.SlugField(source="stance.slug")
    since = serializers.DateTimeField()
    previous = serializers.SlugField(allow_null=True, help_text="The stance held before this one, or null.")


class PositionEntrySerializer(serializers.Serializer):
    stance = serializers.SlugField(source="stance.slug")
    since = serializers.DateTimeField()
    until = serializers.DateTimeField(allow_null=True)
    persuaded_by = serializers.IntegerField(source="persuaded_by_id", allow_null=True)


class PositionHistorySerializer(serializers.Serializer):
    stance = serializers.SlugField()
    since = serializers.DateTimeField()
    history = PositionEntrySerializer(many=True, help_text="Oldest first; the current position last.")


class HistoryQuerySerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=["day", "week"], default="day")


class HistoryStanceSerializer(serializers.Serializer):
    stance = serializers.SlugField()
    replies = serializers.IntegerField(help_text="Visible replies created in the bucket.")
    upvotes = serializers.IntegerField(help_text="Active upvotes cast in the bucket on visible replies.")
    positions = serializers.IntegerField(help_text="Users holding this stance at the end of the bucket.")


class HistoryBucketSerializer(serializers.Serializer):
    start = serializers.DateField()
    stances = HistoryStanceSerializer(many=True)


class FlagInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Flag.Reason.choices)
    text = TextField(max_length=FLAG_TEXT_MAX_LENGTH, required=False, allow_blank=True, default="")


class FlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reply = serializers.IntegerField(source="reply_id")
    reason = serializers.ChoiceField(choices=Flag.Reason.choices)
    text = serializers.CharField()
    state = serializers.ChoiceField(choices=Flag.State.choices)
    created_at = serializers.DateTimeField()


class ProfilePositionSerializer(serializers.Serializer):
    topic = serializers.CharField(help_text="Topic slug.")
    stance = serializers.CharField(help_text="Stance slug within that topic.")


class ProfileSerializer(serializers.Serializer):
    username = serializers.CharField()
    date_joined = serializers.DateTimeField()
    reply_count = serializers.IntegerField(help_text="The user's visible replies, opening posts included.")
    positions = ProfilePositionSerializer(many=True, help_text="Their current side on each topic they declared one.")


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=500,
        trim_whitespace=False,
        help_text='Words (stemmed), "quoted phrases" and -excluded words; the thread title counts above the body.',
    )
    topic = serializers.SlugField(required=False, allow_blank=True, help_text="Topic slug.")
    stance = serializers.SlugField(required=False, allow_blank=True, help_text="Stance slug (with topic).")
    thread = IdField(required=False, allow_null=True, help_text="Thread id.")
    author = serializers.CharField(
        required=False, allow_blank=True, max_length=150, help_text="Author's username or id."
    )
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=10_000)
    page_size = serializers.IntegerField(required=False, min_value=1)


class SearchResultSerializer(serializers.Serializer):
    reply = ReplySerializer()
    thread = serializers.IntegerField()
    thread_title = serializers.CharField()
    topic = serializers.SlugField()
    stance = serializers.SlugField()
    snippet = serializers.CharField(help_text="HTML-escaped text of the body with the matched words in <mark>.")
    rank = serializers.FloatField(help_text="Higher is a better match.")


class SearchPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(allow_null=True, help_text="Always null: no counter knows how many match.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SearchResultSerializer(many=True)


# Serialises selectors.notification_list()'s rows, or any Notification queryset joined to its actor and topic
# (the live stream's too); no docstring, as it would become the schema's description.
class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(
        choices=Notification.Kind.choices,
        help_text="`mention`, `quote`, `reply` (an answer to your reply), `watched` (a new reply in a thread you "
        "watch), `moderation` (a moderator acted on your reply).",
    )
    actor = serializers.CharField(
        source="actor.username", allow_null=True, help_text="Who wrote the reply; null for `moderation`."
    )
    topic = serializers.SlugField(source="topic.slug")
    thread = serializers.IntegerField(source="thread_id")
    reply = serializers.IntegerField(source="reply_id", help_text="The new reply, or yours a moderator acted on.")
    created_at = serializers.DateTimeField()
    read = serializers.SerializerMethodField()
    read_at = serializers.DateTimeField(allow_null=True)

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


class NotificationQuerySerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False, help_text="true: only the unread ones.")


class UnreadCountSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Unread notifications, from a maintained counter.")


class NotificationsReadInputSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=IdField(),
        required=False,
        max_length=READ_IDS_MAX,
        help_text=f"Notifications to mark read (at most {READ_IDS_MAX}); ids not yours are ignored.",
    )
    all = serializers.BooleanField(required=False, help_text="true: mark every notification read (without ids).")

    def validate(self, data):
        if "ids" in data and "all" in data:
            raise serializers.ValidationError({"all": ["Give either `ids` or `all`, not both."]})
        if "all" in data and not data["all"]:
            raise serializers.ValidationError({"all": ["Only true: send `ids` to mark some."]})
        if "ids" not in data and "all" not in data:
            raise serializers.ValidationError({"ids": ["Give `ids`, or `all: true`."]})
        return data


class SubscriptionInputSerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=ThreadSubscription.Level.choices,
        help_text="`watching`: every new reply; `normal`: replies to you, mentions and quotes; `muted`: nothing.",
    )


class SubscriptionSerializer(serializers.Serializer):
    thread = serializers.IntegerField()
    level = serializers.ChoiceField(choices=ThreadSubscription.Level.choices)
