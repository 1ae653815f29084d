"""The outbox row every write that readers can see appends inside its own transaction."""

from django.db import connection, transaction
from django.utils import timezone

from discussions.live.wake import outbox_grown
from discussions.models import Event
from forum.rawsql import saved


def event_append(
    *,
    kind: str,
    topic_id: int | None = None,
    thread_id: int | None = None,
    reply_id: int | None = None,
    actor_id: int | None = None,
    user_id: int | None = None,
) -> Event:
    """Write one outbox row in the caller's transaction; the streams hear of it when that commits."""
    event = Event.objects.create(
        kind=kind, topic_id=topic_id, thread_id=thread_id, reply_id=reply_id, actor_id=actor_id, user_id=user_id
    )
    outbox_grown()
    return event


def _of_reply(reply, actor) -> dict:
    """What an outbox row of a change to one reply names."""
    actor_id = None if actor is None else actor.pk
    return {"topic_id": reply.topic_id, "thread_id": reply.thread_id, "reply_id": reply.pk, "actor_id": actor_id}


def reply_event_append(*, kind: str, reply, actor) -> Event:
    """The outbox row of a change to one reply."""
    return event_append(kind=kind, **_of_reply(reply, actor))


def event_statement(
    *, kind: str, topic_id: int, thread_id: int | None = None, reply_id: int | None = None, actor_id: int | None
) -> tuple[str, list]:
    """event_append's row as an INSERT for a caller that sends it among its own statements (a vote's or a
    change of side's counter moves are one statement on PostgreSQL); (sql, params) ending in a WHERE clause."""
    outbox_grown()
    table = connection.ops.quote_name(Event._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    sql = (
        f"INSERT INTO {table} (kind, topic_id, thread_id, reply_id, actor_id, user_id, created_at) "
        "SELECT %s, %s, %s, %s, %s, NULL, %s WHERE 1 = 1"
    )
    return sql, [kind, topic_id, thread_id, reply_id, actor_id, now]


def reply_event_statement(*, kind: str, reply, actor) -> tuple[str, list]:
    """reply_event_append's row as event_statement's INSERT."""
    return event_statement(kind=kind, **_of_reply(reply, actor))


def reply_event_written(pk: int, *, kind: str, reply, actor) -> Event:
    """The outbox row that a caller's statement wrote from reply_event_statement, as a saved instance."""
    return saved(Event(kind=kind, **_of_reply(reply, actor)), pk)


def events_prune(*, before, batch: int = 10_000) -> int:
    """Delete outbox rows created before `before`, in batches, always keeping the newest row; how many went.

    The newest row stays so a stream can always tell how far the outbox reaches (a client further behind
    gets `event: reset`).
    """
    newest = Event.objects.order_by("-id").values_list("id", flat=True).first()
    if newest is None:
        return 0
    deleted = 0
    while True:
        with transaction.atomic(durable=True):
            ids = list(
                Event.objects.filter(created_at__lt=before, id__lt=newest)
                .order_by("id")
                .values_list("id", flat=True)[:batch]
            )
            if not ids:
                return deleted
            deleted += Event.objects.filter(id__in=ids).delete()[0]
