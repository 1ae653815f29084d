"""Every read of the debate, with the joins its serializer needs, so lists cost a fixed number of queries."""

from django.db.models import Count, F, Prefetch, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404

from discussions.models import Reply, Stance, Thread, Topic

TOP_REPLIES_PER_STANCE = 5

# Each public ordering maps to an indexed column with the id as a stable tie-breaker.
REPLY_ORDERINGS = {
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "-score": ("-score", "-id"),
    "best": ("-wilson", "-id"),
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
    return Thread.objects.select_related("topic", "author", "opening_reply__stance").order_by(
        "-is_pinned", "-created_at", "-id"
    )


def thread_get(*, pk) -> Thread:
    return get_object_or_404(thread_list(), pk=pk)


def thread_for_summary(*, pk) -> Thread:
    return get_object_or_404(
        Thread.objects.select_related("topic").prefetch_related(_stances_prefetch("topic__stances")),
        pk=pk,
    )


def reply_list() -> QuerySet[Reply]:
    """Visible replies only: withdrawn and hidden ones are gone for readers."""
    return (
        Reply.objects.filter(state=Reply.State.VISIBLE)
        .select_related("author", "stance", "topic")
        .order_by("created_at", "id")
    )


def reply_get(*, pk) -> Reply:
    return get_object_or_404(reply_list(), pk=pk)


def _summary(*, topic: Topic, replies: QuerySet[Reply]) -> dict:
    """Exact stance summary over the given visible replies of one topic."""
    stances = list(topic.stances.all())
    per_stance = {
        row["stance_id"]: row
        for row in replies.values("stance_id").annotate(
            n_replies=Count("id"),
            n_participants=Count("author_id", distinct=True),
            n_up=Sum("upvotes"),
            n_down=Sum("downvotes"),
        )
    }
    # One author may argue for several stances, so the total is its own distinct count.
    participants = replies.aggregate(n=Count("author_id", distinct=True))["n"]
    top = (
        replies.select_related("author", "stance", "topic")
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("stance_id")], order_by=[F("wilson").desc(), F("id").desc()])
        )
        .filter(rank__lte=TOP_REPLIES_PER_STANCE)
        .order_by("stance_id", "rank")
    )
    top_by_stance = {s.pk: [] for s in stances}
    for reply in top:
        top_by_stance[reply.stance_id].append(reply)

    rows = []
    for stance in stances:
        row = per_stance.get(stance.pk, {})
        up, down = row.get("n_up") or 0, row.get("n_down") or 0
        rows.append(
            {
                "stance": stance.slug,
                "label": stance.label,
                "replies": row.get("n_replies", 0),
                "participants": row.get("n_participants", 0),
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
        "top_replies": {s.slug: top_by_stance[s.pk] for s in stances},
    }


def _leading(rows: list[dict]) -> str | None:
    """The stance with the strictly highest score; None while every score is 0 or the top is tied."""
    if not rows or all(r["score"] == 0 for r in rows):
        return None
    best = max(r["score"] for r in rows)
    leaders = [r for r in rows if r["score"] == best]
    return leaders[0]["stance"] if len(leaders) == 1 else None


def topic_summary(*, topic: Topic) -> dict:
    """How each side of a topic is doing: headcount, votes, shares, leader and best replies."""
    return _summary(topic=topic, replies=Reply.objects.filter(topic=topic, state=Reply.State.VISIBLE))


def thread_summary(*, thread: Thread) -> dict:
    """The same summary restricted to one thread's visible replies."""
    summary = _summary(topic=thread.topic, replies=Reply.objects.filter(thread=thread, state=Reply.State.VISIBLE))
    summary["thread"] = thread.pk
    return summary
