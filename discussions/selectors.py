"""Every read of the debate, with the joins its serializer needs, so lists cost a fixed number of queries."""

import datetime
import functools
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import F, FilteredRelation, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from discussions import search
from discussions.models import (
    DailyTally,
    Notification,
    NotificationInbox,
    Position,
    Reply,
    Stance,
    Thread,
    ThreadSubscription,
    Topic,
)
from forum.errors import Invalid, NotFound
from forum.rawsql import prepared_cursor

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


def reply_written(*, reply: Reply) -> Reply:
    """The reply a service has just inserted, as reply_list() would read it, from what the service holds.

    Its topic, stance and author are the instances the service wrote it with, so nothing is read again."""
    reply.topic_slug, reply.stance_slug = reply.topic.slug, reply.stance.slug
    reply.author_username = reply.author.username
    return reply


# --- stance summaries ----------------------------------------------------------------------------
# A summary reads two statements whatever the size of the debate: the stances with their tallies (and the
# topic, or the thread), then every reply it shows in one UNION ALL of small index scans, as plain columns.

TALLY_COUNTERS = ("replies", "participants", "upvotes", "downvotes", "positions", "updated_at")


def _stances_with_tallies(stances: QuerySet[Stance], *, thread_id: int | None) -> QuerySet[Stance]:
    """The stances in order, each with its tally's counters as `tally_<name>` (null where no tally row is yet)."""
    scope = Q(tallies__thread=None) if thread_id is None else Q(tallies__thread_id=thread_id)
    columns = {f"tally_{name}": F(f"tally__{name}") for name in TALLY_COUNTERS}
    return (
        stances.select_related("topic")
        .annotate(tally=FilteredRelation("tallies", condition=scope), **columns)
        .order_by("position", "id")
    )


def topic_for_summary(*, slug: str | None = None, source_key: str | None = None) -> Topic:
    """The topic by slug or by its article's key, with `summary_stances`: its stances in order, each with its
    topic-wide tally; one query."""
    where = {"topic__slug": slug} if source_key is None else {"topic__source_key": source_key}
    stances = list(_stances_with_tallies(Stance.objects.filter(**where), thread_id=None))
    if stances:
        topic = stances[0].topic
    elif source_key is not None:  # a topic has stances: none means no debate under that article
        raise Http404("No debate sits under this article.")
    else:
        topic = topic_get(slug=slug)  # the 404 a slug gets everywhere else
    topic.summary_stances = stances
    return topic


def thread_for_summary(*, pk) -> Thread:
    """The thread (its id, topic and participant count) with `summary_stances` holding its own tallies; one query."""
    try:
        thread_id = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    low, high = connections[router.db_for_read(Thread)].ops.integer_field_range(Thread._meta.pk.get_internal_type())
    if not low <= thread_id <= high:  # as the ORM's own lookups do: no such row (the join condition would overflow)
        raise Http404("No such thread.")
    stances = list(
        _stances_with_tallies(Stance.objects.filter(topic__threads=thread_id), thread_id=thread_id).annotate(
            thread_participants=F("topic__threads__participant_count")
        )
    )
    if not stances:
        raise Http404("No such thread.")
    topic = stances[0].topic
    # Only what a summary reads of the thread row; any other field loads if ever asked for.
    thread = Thread.from_db(
        stances[0]._state.db,
        ["id", "topic_id", "participant_count"],
        [thread_id, topic.pk, stances[0].thread_participants],
    )
    thread.topic = topic
    thread.summary_stances = stances
    return thread


# The columns of a reply a summary shows (ReplySerializer's), then its author's name.
_SUMMARY_REPLY_FIELDS = (
    "id",
    "thread_id",
    "parent_id",
    "author_id",
    "body",
    "body_html",
    "mentions",
    "quotes",
    "stance_id",
    "upvotes",
    "downvotes",
    "score",
    "wilson",
    "controversy",
    "bridging",
    "votes_by_stance",
    "persuaded_count",
    "created_at",
    "updated_at",
)


@functools.cache
def _summary_replies_sql(alias: str, stance_parts: int, in_thread: bool, persuasive: bool) -> str:
    """One statement: the best replies of each stance, then (topic summary) the most persuasive ones, each
    part a LIMITed scan of its own index, told apart by a leading `part` number. Cached per database (its quoting)."""
    quote = connections[alias].ops.quote_name
    reply, user = quote(Reply._meta.db_table), quote(get_user_model()._meta.db_table)
    columns = ", ".join(f"r.{quote(Reply._meta.get_field(name).column)}" for name in _SUMMARY_REPLY_FIELDS)
    # The state as a literal rather than a parameter: the partial indexes (visible replies only) then match.
    base = (
        f"SELECT {{part}} AS part, {columns}, u.{quote('username')} FROM {reply} r "
        f"INNER JOIN {user} u ON u.{quote('id')} = r.{quote('author_id')} "
        f"WHERE r.{quote('state')} = '{Reply.State.VISIBLE}'"
    )
    # A stance belongs to one topic: by stance alone, so the planner takes the (stance, -wilson) index, whose
    # first five rows are the answer, rather than the topic's, filtered, which a small stance would read far into.
    scope = f" AND r.{quote('thread_id')} = %s" if in_thread else ""
    parts = [
        f"{base.format(part=i)}{scope} AND r.{quote('stance_id')} = %s "
        f"ORDER BY r.{quote('wilson')} DESC, r.{quote('id')} DESC LIMIT {TOP_REPLIES_PER_STANCE}"
        for i in range(stance_parts)
    ]
    if persuasive:
        parts.append(
            f"{base.format(part=stance_parts)} AND r.{quote('topic_id')} = %s AND r.{quote('persuaded_count')} > 0 "
            f"ORDER BY r.{quote('persuaded_count')} DESC, r.{quote('id')} DESC LIMIT {TOP_REPLIES_PER_STANCE}"
        )
    # Each part in its own subquery: SQLite allows ORDER BY and LIMIT in a compound statement's parts no other way.
    return " UNION ALL ".join(f"SELECT * FROM ({sql}) AS p{i}" for i, sql in enumerate(parts))


def _summary_replies(*, topic: Topic, stances: list[Stance], thread_id: int | None, persuasive: bool):
    """The best replies of each stance (by slug) and, if asked, the most persuasive ones: rows for ReplySerializer."""
    # Raw SQL goes to the connection the router gives reads (a replica when there is one), as the ORM's would.
    connection = connections[router.db_for_read(Reply)]
    sql = _summary_replies_sql(connection.alias, len(stances), thread_id is not None, persuasive)
    params = []
    for stance in stances:
        params += [*([thread_id] if thread_id is not None else []), stance.pk]
    if persuasive:
        params.append(topic.pk)
    fields = [Reply._meta.get_field(name) for name in _SUMMARY_REPLY_FIELDS]
    # The ORM's own converters: SQLite hands dates and JSON back as text, PostgreSQL JSON as text too.
    converters = [
        (i, [*connection.ops.get_db_converters(col), *field.get_db_converters(connection)], col)
        for i, (field, col) in enumerate((f, f.get_col(Reply._meta.db_table)) for f in fields)
    ]
    converters = [(i, found, col) for i, found, col in converters if found]
    slugs = {s.pk: s.slug for s in stances}
    parts = [[] for _ in range(len(stances) + persuasive)]
    # A topic summary's statement is prepared: its planning took four times its run (1.6 ms against 0.4 at
    # 500k replies), and its parts filter on a stance or the topic, which one generic plan serves alike.
    # A thread's is not: a generic plan could not tell a thread of thousands of replies from one of ten.
    with connection.cursor() if thread_id is not None else prepared_cursor(connection.alias) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for part, *values, username in rows:
        for i, found, col in converters:
            for convert in found:
                values[i] = convert(values[i], col, connection)
        row = SimpleNamespace(**dict(zip(_SUMMARY_REPLY_FIELDS, values, strict=True)), author_username=username)
        row.pk, row.topic_slug, row.stance_slug = row.id, topic.slug, slugs[row.stance_id]
        parts[part].append(row)
    # A compound statement keeps no order of its own: each part is put back in its index's order.
    top = {s.slug: sorted(parts[i], key=lambda r: (-r.wilson, -r.id)) for i, s in enumerate(stances)}
    shown = sorted(parts[-1], key=lambda r: (-r.persuaded_count, -r.id)) if persuasive else []
    return top, shown


def _summary(*, topic: Topic, stances: list[Stance], participants: int, top: dict) -> dict:
    """Shape the stances' maintained tallies (`tally_*` columns) into the stance summary."""
    rows = []
    for stance in stances:
        up, down = stance.tally_upvotes or 0, stance.tally_downvotes or 0
        rows.append(
            {
                "stance": stance.slug,
                "label": stance.label,
                "replies": stance.tally_replies or 0,
                "participants": stance.tally_participants or 0,
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


def _last_modified(stances, *reply_lists):
    moments = [s.tally_updated_at for s in stances if s.tally_updated_at is not None]
    moments += [r.updated_at for replies in reply_lists for r in replies]
    return max(moments, default=None)


def topic_summary(*, topic: Topic) -> tuple[dict, object]:
    """How each side of a topic is doing, read from maintained tallies; with its last-modified time.

    Give a topic from topic_for_summary() (two queries in all); any other topic is read again first."""
    if not hasattr(topic, "summary_stances"):
        topic = topic_for_summary(slug=topic.slug)
    stances = topic.summary_stances
    top, persuasive = _summary_replies(topic=topic, stances=stances, thread_id=None, persuasive=True)
    summary = _summary(topic=topic, stances=stances, participants=topic.participant_count, top=top)
    for row, stance in zip(summary["stances"], stances, strict=True):
        row["positions"] = stance.tally_positions or 0
    summary["shifts"] = topic.shift_count
    summary["persuasive"] = persuasive
    return summary, _last_modified(stances, *top.values(), persuasive)


def thread_summary(*, thread: Thread) -> tuple[dict, object]:
    """The same summary restricted to one thread's replies (positions belong to the topic, not here).

    Give a thread from thread_for_summary()."""
    stances = thread.summary_stances
    top, _ = _summary_replies(topic=thread.topic, stances=stances, thread_id=thread.pk, persuasive=False)
    summary = _summary(topic=thread.topic, stances=stances, participants=thread.participant_count, top=top)
    summary["thread"] = thread.pk
    return summary, _last_modified(stances, *top.values())


def common_ground(*, topic: Topic) -> QuerySet[Reply]:
    """Replies that voters of every stance rate up, by their bridging score."""
    return reply_list().filter(topic=topic, bridging__gt=0).order_by("-bridging", "-id")


def position_before(*, position: Position) -> str | None:
    """The stance slug of the user's position on the topic just before this one, or None: one row, by index."""
    earlier = Position.objects.filter(user_id=position.user_id, topic_id=position.topic_id).filter(
        Q(since__lt=position.since) | Q(since=position.since, id__lt=position.pk)
    )
    return earlier.order_by("-since", "-id").values_list("stance__slug", flat=True).first()


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
