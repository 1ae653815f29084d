"""Row lookups and refusals the write services share; plain functions, run inside the caller's transaction."""

import functools

from django.contrib.auth import get_user_model
from django.db import connection

from discussions.models import Position, Reply, Stance, Thread, Topic
from forum.errors import Invalid, NotAllowed, NotFound
from forum.permissions import can_moderate
from forum.rawsql import columns, from_row, prepared_cursor, table


def stance_named(topic: Topic, stances: list[Stance], slug: str, field: str = "stance") -> Stance:
    """The stance with this slug among the topic's own `stances` (slugs repeat across topics)."""
    for stance in stances:
        if stance.slug == slug:
            return stance
    choices = ", ".join(s.slug for s in stances)
    raise Invalid.on(field, f"'{slug}' is not a stance of topic '{topic.slug}'; choose one of: {choices}.")


def stance_of_topic(topic: Topic, slug: str, field: str = "stance") -> tuple[Stance, list[Stance]]:
    """The stance with this slug among the topic's own stances, and all of them."""
    stances = list(Stance.objects.filter(topic=topic).order_by("position", "id"))
    return stance_named(topic, stances, slug, field), stances


def thread_stances(thread_id: int, *, parent_id: int | None) -> list[Stance]:
    """The stances of the thread's topic in order, each with `topic`, `thread_locked` and `parent_visible`
    (whether `parent_id` is a visible reply of the thread): what posting a reply checks, in one query."""
    # Raw SQL, prepared, as topic_stances_for below: every reply posted runs it.
    sql, stance_names, topic_names = _stances_sql(connection.vendor, "thread", parent_id is not None)
    params = [thread_id] if parent_id is None else [parent_id, thread_id]
    stances = []
    for stance, locked, visible in _stances_from(sql, params, stance_names, topic_names):
        stance.thread_locked, stance.parent_visible = bool(locked), bool(visible)  # SQLite answers 0 or 1
        stances.append(stance)
    return stances


def topic_stances_for(user, topic_slug: str, *, persuaded_by_id: int | None) -> list[Stance]:
    """The topic's stances in order, each with `topic`, `current_id` (the user's current position, on its
    stance's row only) and `persuaded_visible` (whether that reply is visible in the topic): one query."""
    # Raw SQL, prepared: every change of side runs it, and the ORM spelling (a filtered relation and an
    # Exists) took longer to build in Python than the database took to answer it.
    sql, stance_names, topic_names = _stances_sql(connection.vendor, "topic", persuaded_by_id is not None)
    params = [user.pk, topic_slug] if persuaded_by_id is None else [persuaded_by_id, user.pk, topic_slug]
    stances = []
    for stance, current_id, visible in _stances_from(sql, params, stance_names, topic_names):
        stance.current_id, stance.persuaded_visible = current_id, bool(visible)
        stances.append(stance)
    return stances


def _stances_from(sql: str, params: list, stance_names: tuple, topic_names: tuple) -> list[tuple]:
    """Run a _stances_sql statement: (stance with its `topic`, the row's last two values) for each stance."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return []
    split = len(stance_names)
    topic = from_row(Topic, topic_names, rows[0][split:-2])
    found = []
    for row in rows:
        stance = from_row(Stance, stance_names, row[:split])
        stance.topic = topic
        found.append((stance, row[-2], row[-1]))
    return found


@functools.lru_cache(maxsize=8)
def _stances_sql(vendor: str, by: str, with_reply: bool) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The stances of a thread's topic (by "thread": its lock, whether the parent is visible in it) or of a
    topic by slug (by "topic": the user's current position's id, whether the persuading reply is visible)."""
    quote = connection.ops.quote_name
    stance_names, stance_list = columns(Stance, "s")
    topic_names, topic_list = columns(Topic, "t")
    visible = "1 = 1"
    if with_reply:
        # The state in the text, as in the vote's statements: the generic plan then uses the partial index.
        within = "r.thread_id = th.id" if by == "thread" else "r.topic_id = s.topic_id"
        visible = (
            f"EXISTS (SELECT 1 FROM {quote(Reply._meta.db_table)} r WHERE r.id = %s "
            f"AND r.state = '{Reply.State.VISIBLE.value}' AND {within})"
        )
    stances = f"{quote(Stance._meta.db_table)} s INNER JOIN {quote(Topic._meta.db_table)} t ON t.id = s.topic_id"
    if by == "thread":
        sql = (
            f"SELECT {stance_list}, {topic_list}, th.is_locked, {visible} FROM {stances} "
            f"INNER JOIN {quote(Thread._meta.db_table)} th ON th.topic_id = t.id WHERE th.id = %s"
        )
    else:
        sql = (
            f"SELECT {stance_list}, {topic_list}, p.id, {visible} FROM {stances} "
            f"LEFT JOIN {quote(Position._meta.db_table)} p ON p.stance_id = s.id AND p.user_id = %s "
            "AND p.until IS NULL WHERE t.slug = %s"
        )
    return f"{sql} ORDER BY s.{quote('position')}, s.id", stance_names, topic_names


def user_locked(user_id: int) -> None:
    """Lock the user's row (NO KEY UPDATE, as below): serialises one user's writes that must not interleave."""
    with prepared_cursor() as cursor:  # raw and prepared: every change of side takes it first
        cursor.execute(f"SELECT id FROM {table(get_user_model())} WHERE id = %s{no_key_update()}", [user_id])


def refuse_if_locked(topic: Topic, thread_locked: bool = False) -> None:
    if topic.is_locked:
        raise NotAllowed("This topic is locked: it takes no new threads or replies.")
    if thread_locked:
        raise NotAllowed("This thread is locked: it takes no new replies.")


def no_key_update() -> str:
    """The row lock every raw lookup here takes, as locked_visible_reply explains (SQLite has none)."""
    return " FOR NO KEY UPDATE" if connection.features.has_select_for_no_key_update else ""


def locked_visible_reply(reply_id: int) -> Reply:
    """The reply's row, locked: every write to a reply and its counters queues on it."""
    # NO KEY UPDATE, here and wherever a row other rows point at is locked (replies, threads, topics, users):
    # a new row's foreign keys share-lock what they name at its commit, after its counters. A plain FOR UPDATE
    # would make them wait on a writer that waits on those counters: a vote on the parent of a reply being
    # posted, a reader changing sides while a reply notifies them, each deadlocked with the reply.
    reply = Reply.objects.select_for_update(no_key=True).filter(pk=reply_id, state=Reply.State.VISIBLE).first()
    if reply is None:
        raise NotFound("No such reply.")
    return reply


def refuse_unless_author_or_moderator(actor, reply: Reply, doing: str) -> None:
    if reply.author_id != actor.pk and not can_moderate(actor):
        raise NotAllowed(f"Only the author or a moderator may {doing} this reply.")
