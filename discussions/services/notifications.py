"""Who is told of a write, and reading what one was told; the writes run inside the write's own transaction.

There is no task queue: a new reply's notifications are one INSERT ... SELECT in the reply's transaction
(the candidates by priority, one row per reader), and the readers' inboxes one upsert beside it (the same
statement on PostgreSQL, through a data-modifying WITH), so the statements do not grow with the watchers.
Inbox rows are locked last of everything a write locks, in user id order (see discussions/bookkeeping.py).
"""

from django.db import connection, transaction
from django.utils import timezone

from discussions.models import Event, Notification, NotificationInbox, Reply, Thread, ThreadSubscription
from discussions.models.notifications import READ_IDS_MAX
from discussions.services.events import event_append
from forum.errors import Invalid, NotFound
from forum.rawsql import table

Kind = Notification.Kind
Level = ThreadSubscription.Level

# A reader named by several sources of one reply is told once, by the first of these.
PRIORITY = (Kind.MENTION, Kind.QUOTE, Kind.REPLY, Kind.WATCHED)


def _now():
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _deliver(*, chosen: str, params: list, event: Event, actor_id: int | None) -> int:
    """Insert a notification for each (user_id, kind) row `chosen` selects, made by `event`, and move those
    readers' inboxes; how many were written."""
    notifications, inboxes = table(Notification), table(NotificationInbox)
    insert = (
        f"INSERT INTO {notifications} (user_id, kind, actor_id, topic_id, thread_id, reply_id, event_id, created_at) "
        f"SELECT chosen.user_id, chosen.kind, %s, %s, %s, %s, %s, %s FROM ({chosen}) chosen RETURNING user_id"
    )
    params = [actor_id, event.topic_id, event.thread_id, event.reply_id, event.pk, _now(), *params]
    # Ordered by user, so two writers upserting the same readers' rows lock them in the same order.
    upsert = (
        f"INSERT INTO {inboxes} (user_id, unread, total) {{source}} "
        f"ON CONFLICT (user_id) DO UPDATE SET unread = {inboxes}.unread + 1, total = {inboxes}.total + 1"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            source = "SELECT user_id, 1, 1 FROM inserted ORDER BY user_id"
            cursor.execute(f"WITH inserted AS ({insert}) " + upsert.format(source=source), params)
            return cursor.rowcount
        # SQLite has no INSERT inside WITH: the notified ids come back, and go into the upsert as one JSON
        # array (`WHERE true` tells SQLite's parser the ON CONFLICT belongs to the INSERT, not to a join).
        cursor.execute(insert, params)
        notified = sorted(row[0] for row in cursor.fetchall())
        if notified:
            source = "SELECT value, 1, 1 FROM json_each(%s) WHERE true ORDER BY value"
            cursor.execute(upsert.format(source=source), [str(notified)])
        return len(notified)


def notifications_fan_out(*, event: Event, reply: Reply, thread_is_new: bool = False) -> int:
    """Tell readers of a reply just posted (`event` its outbox row): the mentioned, the authors it quotes, the
    author it answers and the thread's watchers, once each by PRIORITY; never its author, never anyone who muted
    the thread. `thread_is_new`: an opening post, whose thread nobody else watches yet. How many were told."""
    replies, subscriptions = table(Reply), table(ThreadSubscription)
    sources, params = [], []
    if reply.mentions:
        mentions = table(Reply.mentioned_users.through)
        sources.append(f"SELECT user_id AS user_id, 1 AS priority FROM {mentions} WHERE reply_id = %s")
        params.append(reply.pk)
    if reply.quotes:
        quotes = table(Reply.quoted_replies.through)
        sources.append(
            f"SELECT q.author_id AS user_id, 2 AS priority FROM {quotes} r JOIN {replies} q ON q.id = r.to_reply_id "
            "WHERE r.from_reply_id = %s"
        )
        params.append(reply.pk)
    if reply.parent_id is not None:
        sources.append(f"SELECT author_id AS user_id, 3 AS priority FROM {replies} WHERE id = %s")
        params.append(reply.parent_id)
    if not thread_is_new:
        sources.append(
            f"SELECT user_id AS user_id, 4 AS priority FROM {subscriptions} WHERE thread_id = %s AND level = %s"
        )
        params += [reply.thread_id, Level.WATCHING]
    if not sources:
        return 0  # a plain opening post: nobody to tell, and no statement spent finding that out
    kind = " ".join(f"WHEN {number} THEN %s" for number in range(1, len(PRIORITY) + 1))
    chosen = (
        f"SELECT c.user_id, CASE MIN(c.priority) {kind} END AS kind FROM ({' UNION ALL '.join(sources)}) c "
        f"WHERE c.user_id <> %s AND NOT EXISTS (SELECT 1 FROM {subscriptions} m "
        "WHERE m.thread_id = %s AND m.user_id = c.user_id AND m.level = %s) GROUP BY c.user_id"
    )
    params = [*PRIORITY, *params, reply.author_id, reply.thread_id, Level.MUTED]
    return _deliver(chosen=chosen, params=params, event=event, actor_id=reply.author_id)


def notification_moderation(*, event: Event, reply: Reply, actor) -> int:
    """Tell a reply's author a moderator acted on it (`event`, the act's outbox row): no actor named, and sent
    even when they muted the thread, since it is about their own reply. Nothing for one's own reply."""
    if actor is not None and actor.pk == reply.author_id:
        return 0
    chosen = "SELECT %s AS user_id, %s AS kind"
    return _deliver(chosen=chosen, params=[reply.author_id, Kind.MODERATION], event=event, actor_id=None)


def notifications_read(*, actor, ids: list[int] | None = None, everything: bool = False) -> int:
    """Mark the actor's notifications read, these `ids` (others' ids are ignored) or `everything`; the unread
    count left. When some changed, an outbox row tells the actor's live streams."""
    if (ids is None) == (not everything):
        raise Invalid.on("ids", "Give either `ids` or `all: true`.")
    if ids is not None and len(ids) > READ_IDS_MAX:
        raise Invalid.on("ids", f"At most {READ_IDS_MAX} ids at a time; use `all: true` for everything.")
    notifications, inboxes = table(Notification), table(NotificationInbox)
    with transaction.atomic(durable=True):
        marked = 0
        if everything or ids:
            which, params = "user_id = %s AND read_at IS NULL", [actor.pk]
            if not everything:
                which += f" AND id IN ({', '.join(['%s'] * len(ids))})"
                params += list(ids)
            # The rows are locked in id order, so two requests of one reader marking overlapping sets cannot
            # deadlock; a row another request marked first no longer matches once its lock is granted.
            lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {notifications} SET read_at = %s WHERE id IN "
                    f"(SELECT id FROM {notifications} WHERE {which} ORDER BY id{lock}) AND read_at IS NULL",
                    [_now(), *params],
                )
                marked = cursor.rowcount
                if marked:
                    cursor.execute(
                        f"UPDATE {inboxes} SET unread = unread - %s WHERE user_id = %s RETURNING unread",
                        [marked, actor.pk],
                    )
                    left = cursor.fetchone()[0]
        if not marked:
            return NotificationInbox.objects.filter(user=actor).values_list("unread", flat=True).first() or 0
        event_append(kind=Event.Kind.NOTIFICATIONS_READ, user_id=actor.pk, actor_id=actor.pk)
        return left


def subscription_set(*, actor, thread_id: int, level: str) -> ThreadSubscription:
    """How closely the actor follows a thread: `watching` (every reply), `normal` or `muted` (nothing)."""
    if level not in Level.values:
        raise Invalid.on("level", f"One of {', '.join(Level.values)}.")
    with transaction.atomic(durable=True):
        if not Thread.objects.filter(pk=thread_id).exists():
            raise NotFound("No such thread.")
        subscription = ThreadSubscription(user=actor, thread_id=thread_id, level=level)
        # One upsert: two requests of the same reader at once leave one row, the later level.
        ThreadSubscription.objects.bulk_create(
            [subscription],
            update_conflicts=True,
            unique_fields=["user", "thread"],
            update_fields=["level", "updated_at"],
        )
        return subscription
