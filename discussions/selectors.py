"""Every read of the debate, with the joins its serializer needs, so lists cost a fixed number of queries."""

import datetime

from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from discussions import search
from discussions.models import (
    DailyTally,
    Notification,
    NotificationInbox,
    Position,
    Reply,
    Stance,
    StanceTally,
    Thread,
    ThreadSubscription,
    Topic,
)
from forum.errors import Invalid, NotFound

TOP_REPLIES_PER_STANCE = 5

# Each public ordering maps to an indexed column with the id as a stable tie-breaker.
REPLY_ORDERINGS = {
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "-score": ("-score", "-id"),
    "best": ("-wilson", "-id"),
    "controversial": ("-controversy", "-id"),
}
THREAD_ORDERINGS = {
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "-last_activity_at": ("-last_activity_at", "-id"),
    "-reply_count": ("-reply_count", "-id"),
}


def _stances_prefetch(lookup="stances"):
    return Prefetch(lookup, queryset=Stance.objects.order_by("position", "id"))


def topic_list() -> QuerySet[Topic]:
    return Topic.objects.prefetch_related(_stances_prefetch()).order_by("-created_at", "-id")


def topic_get(*, slug: str) -> Topic:
    return get_object_or_404(topic_list(), slug=slug)


def thread_list() -> QuerySet[Thread]:
    """Threads with the names and the opening post's text ThreadSerializer shows, as columns of the joins."""
    # Columns rather than select_related's four whole rows per thread (the opening reply's JSON included):
    # building those instances was most of a thread page, as it was of a reply page.
    return Thread.objects.annotate(
        topic_slug=F("topic__slug"),
        author_username=F("author__username"),
        opening_state=F("opening_reply__state"),
        opening_body=F("opening_reply__body"),
        opening_body_html=F("opening_reply__body_html"),
        opening_stance=F("opening_reply__stance__slug"),
    ).order_by("-is_pinned", "-created_at", "-id")


def thread_get(*, pk) -> Thread:
    return get_object_or_404(thread_list(), pk=pk)


def thread_for_summary(*, pk) -> Thread:
    return get_object_or_404(
        Thread.objects.select_related("topic").prefetch_related(_stances_prefetch("topic__stances")),
        pk=pk,
    )


def reply_list() -> QuerySet[Reply]:
    """Visible replies only (withdrawn and hidden ones are gone for readers), with the names ReplySerializer shows."""
    # The three names as columns of the same joins rather than select_related's three whole rows per reply:
    # building those model instances was a fifth of a reply page's time (and of an uncached summary's).
    return (
        Reply.objects.filter(state=Reply.State.VISIBLE)
        .annotate(topic_slug=F("topic__slug"), stance_slug=F("stance__slug"), author_username=F("author__username"))
        .order_by("created_at", "id")
    )


def reply_count_known(*, topic_slug: str | None = None, thread_id: int | None = None) -> int:
    """Visible replies of one topic, one thread or (neither given) all topics, from the maintained counters."""
    if thread_id is not None:
        return _counter(Thread.objects.filter(pk=thread_id), "reply_count")
    return _counter(Topic.objects.all() if topic_slug is None else Topic.objects.filter(slug=topic_slug), "reply_count")


def thread_count_known(*, topic_slug: str | None = None) -> int:
    """Threads of one topic or (none given) of all topics, from the topics' counters."""
    return _counter(
        Topic.objects.all() if topic_slug is None else Topic.objects.filter(slug=topic_slug), "thread_count"
    )


def _counter(rows: QuerySet, name: str) -> int:
    # Topics are few, so summing their counters is one small read whatever the size of the debates.
    return rows.aggregate(total=Coalesce(Sum(name), 0))["total"]


def reply_get(*, pk) -> Reply:
    return get_object_or_404(reply_list(), pk=pk)


def _top_replies(replies: QuerySet[Reply], stances: list[Stance]) -> dict:
    # One small index scan per stance (stance, -wilson) rather than ranking every reply of the topic.
    return {s.slug: list(replies.filter(stance=s).order_by("-wilson", "-id")[:TOP_REPLIES_PER_STANCE]) for s in stances}


def _summary(*, topic: Topic, tallies: dict, participants: int, top: dict) -> dict:
    """Shape maintained tallies (by stance id) into the stance summary."""
    rows = []
    for stance in topic.stances.all():
        tally = tallies.get(stance.pk)
        up, down = (tally.upvotes, tally.downvotes) if tally else (0, 0)
        rows.append(
            {
                "stance": stance.slug,
                "label": stance.label,
                "replies": tally.replies if tally else 0,
                "participants": tally.participants if tally else 0,
                "upvotes": up,
                "downvotes": down,
                "score": up - down,
            }
        )
    total_replies = sum(r["replies"] for r in rows)
    total_up = sum(r["upvotes"] for r in rows)
    for r in rows:
        r["reply_share"] = r["replies"] / total_replies if total_replies else 0.0
        r["vote_share"] = r["upvotes"] / total_up if total_up else 0.0
    return {
        "topic": topic.slug,
        "replies": total_replies,
        "participants": participants,
        "votes": sum(r["upvotes"] + r["downvotes"] for r in rows),
        "stances": rows,
        "leading": _leading(rows),
        "top_replies": top,
    }


def _leading(rows: list[dict]) -> str | None:
    """The stance with the strictly highest score; None while every score is 0 or the top is tied."""
    if not rows or all(r["score"] == 0 for r in rows):
        return None
    best = max(r["score"] for r in rows)
    leaders = [r for r in rows if r["score"] == best]
    return leaders[0]["stance"] if len(leaders) == 1 else None


def _last_modified(tallies, *reply_lists):
    moments = [t.updated_at for t in tallies] + [r.updated_at for replies in reply_lists for r in replies]
    return max(moments, default=None)


def topic_summary(*, topic: Topic) -> tuple[dict, object]:
    """How each side of a topic is doing, read from maintained tallies; with its last-modified time."""
    stances = list(topic.stances.all())
    tallies = list(StanceTally.objects.filter(topic=topic, thread=None))
    by_stance = {t.stance_id: t for t in tallies}
    visible = reply_list().filter(topic=topic)
    top = _top_replies(visible, stances)
    persuasive = list(
        visible.filter(persuaded_count__gt=0).order_by("-persuaded_count", "-id")[:TOP_REPLIES_PER_STANCE]
    )
    summary = _summary(topic=topic, tallies=by_stance, participants=topic.participant_count, top=top)
    for row, stance in zip(summary["stances"], stances, strict=True):
        row["positions"] = by_stance[stance.pk].positions if stance.pk in by_stance else 0
    summary["shifts"] = topic.shift_count
    summary["persuasive"] = persuasive
    return summary, _last_modified(tallies, *top.values(), persuasive)


def thread_summary(*, thread: Thread) -> tuple[dict, object]:
    """The same summary restricted to one thread's replies (positions belong to the topic, not here)."""
    stances = list(thread.topic.stances.all())
    tallies = list(StanceTally.objects.filter(thread=thread))
    top = _top_replies(reply_list().filter(thread=thread), stances)
    summary = _summary(
        topic=thread.topic,
        tallies={t.stance_id: t for t in tallies},
        participants=thread.participant_count,
        top=top,
    )
    summary["thread"] = thread.pk
    return summary, _last_modified(tallies, *top.values())


def common_ground(*, topic: Topic) -> QuerySet[Reply]:
    """Replies that voters of every stance rate up, by their bridging score."""
    return reply_list().filter(topic=topic, bridging__gt=0).order_by("-bridging", "-id")


def position_history(*, user, topic: Topic) -> list[Position]:
    """The user's positions on the topic, oldest first; empty when they never declared one."""
    return list(Position.objects.filter(user=user, topic=topic).select_related("stance").order_by("since", "id"))


def _bucket_start(day: datetime.date, bucket: str) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday()) if bucket == "week" else day


def summary_history(*, topic: Topic, bucket: str) -> list[dict]:
    """Per day or ISO week (Mondays), per stance: new replies, upvotes, and positions held at its end."""
    stances = list(topic.stances.all())
    rows = (
        DailyTally.objects.filter(topic=topic)
        .order_by("day")
        .values_list("day", "stance_id", "replies", "upvotes", "positions_delta")
    )
    buckets: dict[datetime.date, dict] = {}
    for day, stance_id, replies, upvotes, positions_delta in rows:
        cell = buckets.setdefault(_bucket_start(day, bucket), {}).setdefault(stance_id, [0, 0, 0])
        cell[0] += replies
        cell[1] += upvotes
        cell[2] += positions_delta
    if not buckets:
        return []
    step = datetime.timedelta(days=7 if bucket == "week" else 1)
    start, last = min(buckets), max(buckets)
    held = dict.fromkeys((s.pk for s in stances), 0)
    history = []
    while start <= last:  # every bucket in the range, so a chart's x axis has no holes
        cells = buckets.get(start, {})
        entry = {"start": start, "stances": []}
        for stance in stances:
            replies, upvotes, positions_delta = cells.get(stance.pk, (0, 0, 0))
            held[stance.pk] += positions_delta
            entry["stances"].append(
                {"stance": stance.slug, "replies": replies, "upvotes": upvotes, "positions": held[stance.pk]}
            )
        history.append(entry)
        start += step
    return history


def user_profile(*, username: str) -> dict:
    """A user's public face: when they joined, how many of their replies are visible, where they stand now."""
    user = get_object_or_404(get_user_model(), username=username)
    positions = (
        Position.objects.filter(user=user, until=None)
        .order_by("topic__slug")
        .values_list("topic__slug", "stance__slug")
    )
    return {
        "username": user.username,
        "date_joined": user.date_joined,
        "reply_count": Reply.objects.filter(author=user, state=Reply.State.VISIBLE).count(),
        "positions": [{"topic": topic, "stance": stance} for topic, stance in positions],
    }


def search_results(
    *, q: str, topic: str = "", stance: str = "", thread: int | None = None, author: str = "", offset: int, limit: int
):
    """Visible replies matching `q`, best first, with snippets; filters by topic slug (stance within it), thread
    id and author username or id. Raises Invalid on `q` or `stance`."""
    query = search.parse(q)
    if stance and not topic:
        raise Invalid.on("stance", "Give `topic` with `stance`: stance slugs repeat across topics.")
    filters = {"thread_id": thread}
    if topic:
        filters["topic_id"] = Topic.objects.filter(slug=topic).values_list("pk", flat=True).first() or 0
    if stance:
        found = Stance.objects.filter(topic_id=filters["topic_id"], slug=stance).values_list("pk", flat=True).first()
        filters["stance_id"] = found or 0
    if author:
        users = get_user_model().objects.filter(username=author)
        if author.isascii() and author.isdigit() and int(author) < 2**63:
            users = get_user_model().objects.filter(Q(username=author) | Q(pk=int(author)))
        filters["author_id"] = users.values_list("pk", flat=True).first() or 0
    hits = search.find(query, filters=filters, offset=offset, limit=limit)
    replies = reply_list().annotate(thread_title=F("thread__title")).in_bulk([h.reply_id for h in hits])
    # A reply hidden between the two reads is left out rather than shown.
    return [(replies[h.reply_id], h) for h in hits if h.reply_id in replies]


def notification_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first, with the actor's name and the topic's slug (an index range)."""
    rows = Notification.objects.filter(user=user).select_related("actor", "topic")
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    fields = ("kind", "thread_id", "reply_id", "event_id", "created_at", "read_at", "actor__username", "topic__slug")
    return rows.only(*fields).order_by("-event_id", "-id")


def notification_counts(*, user) -> tuple[int, int]:
    """(unread, total) from the user's inbox counters: one read by primary key; zeros before any notification."""
    counts = NotificationInbox.objects.filter(user=user).values_list("unread", "total").first()
    return counts or (0, 0)


def subscription_level(*, user, thread_id: int) -> str:
    """How closely the user follows the thread (`normal` without a choice); NotFound for an unknown thread."""
    chosen = ThreadSubscription.objects.filter(thread=OuterRef("pk"), user=user).values("level")[:1]
    found = Thread.objects.filter(pk=thread_id).annotate(level=Subquery(chosen)).values_list("level", flat=True)
    if not found:
        raise NotFound(f"No thread with id {thread_id}.")
    return found[0] or ThreadSubscription.Level.NORMAL
