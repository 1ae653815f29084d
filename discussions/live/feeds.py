"""What the hub and the streams read from the database: outbox rows and the JSON each event carries.

Plain synchronous ORM reads; the async side calls them in a worker thread. Every payload is what the REST
API answers for the same thing at that moment (a reply as GET /api/replies/{id}/, a summary as
GET /api/topics/{slug}/summary/), read once per event and shared by every stream that shows it.
"""

from dataclasses import dataclass

from django.db import close_old_connections
from django.db.models import Max, Min

from discussions import selectors
from discussions.models import Event, Notification, NotificationInbox, Topic
from discussions.serializers import NotificationSerializer, ReplySerializer, ThreadSerializer
from discussions.summary_cache import topic_summary_json

_FIELDS = ("id", "kind", "topic_id", "thread_id", "reply_id", "actor_id", "user_id")


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    kind: str
    topic_id: int | None
    thread_id: int | None
    reply_id: int | None
    actor_id: int | None
    user_id: int | None


def fresh(function):
    """Run `function` in a worker thread, handing its connection back afterwards (to the pool, or closed
    when it is obsolete), as a request does when it ends."""

    def wrapped(*args, **kwargs):
        close_old_connections()  # one the database closed meanwhile
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return wrapped


@fresh
def outbox_bounds() -> tuple[int, int]:
    """(oldest kept id, newest id) of the outbox; (0, 0) while it is empty."""
    bounds = Event.objects.aggregate(low=Min("id"), high=Max("id"))
    return bounds["low"] or 0, bounds["high"] or 0


@fresh
def events_after(after: int, limit: int) -> list[Row]:
    """Outbox rows after an id, in id order."""
    rows = Event.objects.filter(id__gt=after).order_by("id").values_list(*_FIELDS)[:limit]
    return [Row(*row) for row in rows]


@fresh
def topic_events(topic_id: int, after: int, upto: int, limit: int) -> list[Row]:
    """One topic's rows with after < id <= upto, in id order (a reconnecting stream's replay)."""
    rows = Event.objects.filter(topic_id=topic_id, id__gt=after, id__lte=upto).order_by("id").values_list(*_FIELDS)
    return [Row(*row) for row in rows[:limit]]


@fresh
def topic_named(slug: str) -> Topic | None:
    return Topic.objects.filter(slug=slug).only("id", "slug").first()


@fresh
def replies_shown(reply_ids: list[int]) -> dict[int, dict]:
    """{id: the reply's JSON} of those still visible; a hidden or withdrawn one is absent."""
    replies = selectors.reply_list().filter(pk__in=reply_ids)
    return {reply.pk: ReplySerializer(reply).data for reply in replies}


@fresh
def threads_shown(thread_ids: list[int]) -> dict[int, dict]:
    return {thread.pk: ThreadSerializer(thread).data for thread in selectors.thread_list().filter(pk__in=thread_ids)}


@fresh
def topic_summary(topic_id: int) -> dict | None:
    """The topic's summary JSON, from the summary cache when it has it (the REST view's own entry)."""
    slug = Topic.objects.filter(pk=topic_id).values_list("slug", flat=True).first()
    if slug is None:
        return None
    return topic_summary_json(topic=selectors.topic_for_summary(slug=slug))[0]


@fresh
def notifications_of(user_ids: list[int], *, event_ids: list[int] | None = None, after=None, upto=None) -> list:
    """Notifications of these users made by these events (or, for one user, with after < event id <= upto),
    in event order, as (user id, event id, JSON)."""
    rows = Notification.objects.filter(user_id__in=user_ids).select_related("actor", "topic")
    if event_ids is not None:
        rows = rows.filter(event_id__in=event_ids)
    else:
        rows = rows.filter(event_id__gt=after, event_id__lte=upto)
    return [(n.user_id, n.event_id, NotificationSerializer(n).data) for n in rows.order_by("event_id", "id")]


@fresh
def unread_counts(user_ids: list[int]) -> dict[int, int]:
    counts = dict(NotificationInbox.objects.filter(user_id__in=user_ids).values_list("user_id", "unread"))
    return {user_id: counts.get(user_id, 0) for user_id in user_ids}
