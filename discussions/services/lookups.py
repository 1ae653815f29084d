"""Row lookups and refusals the write services share; plain functions, run inside the caller's transaction."""

from django.db import connection
from django.db.models import Exists, F, FilteredRelation, Model, OuterRef, Q, Value

from discussions.models import Reply, Stance, Topic
from forum.errors import Invalid, NotAllowed, NotFound
from forum.permissions import can_moderate


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


def _visible_reply_exists(reply_id: int | None, **where):
    if reply_id is None:
        return Value(True)
    return Exists(Reply.objects.filter(pk=reply_id, state=Reply.State.VISIBLE, **where))


def thread_stances(thread_id: int, *, parent_id: int | None) -> list[Stance]:
    """The stances of the thread's topic in order, each with `topic`, `thread_locked` and `parent_visible`
    (whether `parent_id` is a visible reply of the thread): what posting a reply checks, in one query."""
    return list(
        Stance.objects.filter(topic__threads=thread_id)
        .select_related("topic")
        .annotate(
            thread_locked=F("topic__threads__is_locked"),
            parent_visible=_visible_reply_exists(parent_id, thread_id=thread_id),
        )
        .order_by("position", "id")
    )


def topic_stances_for(user, topic_slug: str, *, persuaded_by_id: int | None) -> list[Stance]:
    """The topic's stances in order, each with `topic`, `current_id` (the user's current position, on its
    stance's row only) and `persuaded_visible` (whether that reply is visible in the topic): one query."""
    # A join on the stance's positions rather than subqueries on the topic's: the same answer, and less than
    # half the time spent building the SQL, which took longer than running it.
    return list(
        Stance.objects.filter(topic__slug=topic_slug)
        .select_related("topic")
        .annotate(
            current=FilteredRelation("positions", condition=Q(positions__user=user, positions__until=None)),
            current_id=F("current__id"),
            persuaded_visible=_visible_reply_exists(persuaded_by_id, topic=OuterRef("topic_id")),
        )
        .order_by("position", "id")
    )


def refuse_if_locked(topic: Topic, thread_locked: bool = False) -> None:
    if topic.is_locked:
        raise NotAllowed("This topic is locked: it takes no new threads or replies.")
    if thread_locked:
        raise NotAllowed("This thread is locked: it takes no new replies.")


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


# What a vote reads and writes of its reply (and answers with): not the body.
VOTE_COUNTERS = ("id", "topic_id", "thread_id", "stance_id", "upvotes", "downvotes", "score", "votes_by_stance")


def locked_reply_counters(reply_id: int) -> Reply:
    """The visible reply's row, locked as by locked_visible_reply, with only its counters loaded."""
    # Raw SQL: every vote takes this lock first, and the ORM spent longer building the query and the object
    # than the database took to lock the row. Its other fields load if ever asked for.
    low, high = connection.ops.integer_field_range(Reply._meta.pk.get_internal_type())
    if not low <= reply_id <= high:  # as the ORM does: no such row, rather than the driver's overflow
        raise NotFound("No such reply.")
    lock = " FOR NO KEY UPDATE" if connection.features.has_select_for_no_key_update else ""  # as above
    table = connection.ops.quote_name(Reply._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(VOTE_COUNTERS)} FROM {table} WHERE id = %s AND state = %s{lock}",
            [reply_id, Reply.State.VISIBLE],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound("No such reply.")
    return from_row(Reply, VOTE_COUNTERS, row)


def from_row(model, names: tuple[str, ...], values) -> Model:
    """An instance of `model` from a raw cursor's row of these columns (attnames); the rest load if asked for."""
    by_name = {}
    for name, value in zip(names, values, strict=True):
        field = model._meta.get_field(name)
        column = field.get_col(model._meta.db_table)
        # The ORM's own converters: SQLite, for one, hands dates and JSON back as text.
        for convert in connection.ops.get_db_converters(column) + field.get_db_converters(connection):
            value = convert(value, column, connection)
        by_name[name] = value
    ordered = [f.attname for f in model._meta.concrete_fields if f.attname in by_name]  # from_db's order
    return model.from_db(connection.alias, ordered, [by_name[name] for name in ordered])


def refuse_unless_author_or_moderator(actor, reply: Reply, doing: str) -> None:
    if reply.author_id != actor.pk and not can_moderate(actor):
        raise NotAllowed(f"Only the author or a moderator may {doing} this reply.")
