"""The writing half of the demo-data generator: a plan's model instances, bulk-inserted phase by phase.

The builders set every counter a plan implies (replies' votes and rankings, threads' tallies), so the
tallies_audit that follows has little to rewrite; votes go in with COPY on PostgreSQL.
"""

import datetime
import itertools
from collections import Counter, defaultdict

from django.contrib.auth import get_user_model
from django.db import connection, reset_queries, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce

from bench.demo.planning import Existing, Plan, username
from discussions import bookkeeping
from discussions.models import Position, Reply, StanceTally, Thread, Vote

BATCH = 5000

# Django's marker of an unusable password; make_password(None) appends random characters, which are not reproducible.
UNUSABLE_PASSWORD = "!"


def chunks(iterable, size: int = BATCH):
    """Lists of up to `size` items, so a generator of rows is never held whole in memory."""
    iterator = iter(iterable)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def insert(model, objs: list, *, batch_size: int = BATCH, progress=None) -> list:
    """bulk_create in batches (SQLite splits them further), calling progress(done, total); pks come back set."""
    created = []
    for batch in chunks(objs, batch_size):
        created += model.objects.bulk_create(batch)
        if progress:
            progress(len(created), len(objs))
    return created


def link_threads(threads) -> None:
    """Point each thread at its first reply and its activity at its last, in one UPDATE."""
    first = Reply.objects.filter(thread=OuterRef("pk")).order_by("created_at", "id")
    threads.update(
        opening_reply=Subquery(first.values("pk")[:1]),
        last_activity_at=Subquery(first.reverse().values("created_at")[:1]),
    )


# --- Model instances ---------------------------------------------------------------------------------------


def build_users(plan: Plan, slug: str, first_number: int, joined: datetime.datetime) -> list:
    User = get_user_model()
    return [
        User(username=username(slug, first_number + i), password=UNUSABLE_PASSWORD, date_joined=joined)
        for i in range(plan.users)
    ]


def build_threads(plan: Plan, topic, user_ids: list[int], at) -> list[Thread]:
    """Threads with their counters (visible replies, distinct authors of them); opening replies come later."""
    visible = [[] for _ in plan.threads]
    for r in plan.replies:
        if r.withdrawn is None:
            visible[r.thread].append(r.author)
    return [
        Thread(
            topic=topic,
            author_id=user_ids[author],
            title=title,
            created_at=at(opened),
            last_activity_at=at(opened),
            reply_count=len(authors),
            participant_count=len(set(authors)),
        )
        for (author, opened, title), authors in zip(plan.threads, visible, strict=True)
    ]


def build_replies(plan: Plan, topic, stances: list, thread_ids, user_ids, at) -> list[Reply]:
    """Replies with their vote counters and rankings already right, so the audit has little to rewrite."""
    slugs = [s.slug for s in stances]
    target_of = {reply: len(plan.old_targets) + k for k, reply in enumerate(plan.new_targets)}
    tallies = defaultdict(Counter)  # target → {(value, voter stance): active votes}
    for v in plan.votes:
        if v.retracted is None:
            tallies[v.target][v.value, v.stance] += 1
    persuaded = Counter(p.persuaded_by for p in plan.positions if p.persuaded_by is not None)
    replies = []
    for i, r in enumerate(plan.replies):
        votes = tallies.get(target_of.get(i), {})
        by_stance = {slug: {"up": 0, "down": 0} for slug in slugs}
        for (value, stance), k in votes.items():
            if stance is not None:
                by_stance[slugs[stance]]["up" if value == 1 else "down"] += k
        reply = Reply(
            topic=topic,
            thread_id=thread_ids[r.thread],
            author_id=user_ids[r.author],
            stance=stances[r.stance],
            body=r.body,
            state=Reply.State.VISIBLE if r.withdrawn is None else Reply.State.WITHDRAWN,
            created_at=at(r.created),
            withdrawn_at=None if r.withdrawn is None else at(r.withdrawn),
            upvotes=sum(k for (value, _), k in votes.items() if value == 1),
            downvotes=sum(k for (value, _), k in votes.items() if value == -1),
            votes_by_stance=by_stance,
            persuaded_count=persuaded[i],
        )
        bookkeeping.reply_rerank(reply, slugs)
        replies.append(reply)
    return replies


def build_thread_tallies(plan: Plan, topic, stances: list, threads: list[Thread], replies: list[Reply]) -> list:
    """Per-stance tallies of the new threads, whose rows are all new: the audit would create them one at a time."""
    tallies, authors = {}, defaultdict(set)
    for r, reply in zip(plan.replies, replies, strict=True):
        if r.withdrawn is None:
            key = (r.thread, r.stance)
            if key not in tallies:
                tallies[key] = StanceTally(topic=topic, thread=threads[r.thread], stance=stances[r.stance])
            tallies[key].replies += 1
            tallies[key].upvotes += reply.upvotes
            tallies[key].downvotes += reply.downvotes
            authors[key].add(r.author)
    for key, tally in tallies.items():
        tally.participants = len(authors[key])
    return list(tallies.values())


def target_ids(plan: Plan, replies: list[Reply]) -> list[int]:
    return [*plan.old_targets, *(replies[i].pk for i in plan.new_targets)]


def insert_replies(plan: Plan, replies: list[Reply], progress=None) -> None:
    """Insert shallowest first, so every parent has its primary key before its children are built."""
    order = sorted(range(len(replies)), key=lambda i: plan.replies[i].depth)
    done = 0
    for _, level in itertools.groupby(order, key=lambda i: plan.replies[i].depth):
        level = list(level)
        for i in level:
            parent = plan.replies[i].parent
            replies[i].parent_id = None if parent is None else replies[parent].pk
        for batch in chunks(level):
            Reply.objects.bulk_create([replies[i] for i in batch])
            done += len(batch)
            if progress:
                progress(done, len(replies))


def build_positions(plan: Plan, topic, stances: list, user_ids, reply_ids, at) -> list[Position]:
    return [
        Position(
            user_id=user_ids[p.user],
            topic=topic,
            stance=stances[p.stance],
            persuaded_by_id=None if p.persuaded_by is None else reply_ids[p.persuaded_by],
            since=at(p.since),
            until=None if p.until is None else at(p.until),
        )
        for p in plan.positions
    ]


VOTE_COLUMNS = (
    "user_id",
    "reply_id",
    "value",
    "voter_stance_id",
    "created_at",
    "cast_at",
    "updated_at",
    "retracted_at",
)


def vote_rows(plan: Plan, stances: list, user_ids, target_ids, at):
    """Each planned vote as a tuple of VOTE_COLUMNS, one at a time: half a million would not fit the memory budget."""
    for v in plan.votes:
        cast = at(v.cast)
        retracted = None if v.retracted is None else at(v.retracted)
        stance = None if v.stance is None else stances[v.stance].pk
        yield (user_ids[v.user], target_ids[v.target], v.value, stance, cast, cast, retracted or cast, retracted)


def insert_votes(rows, connection, progress=None, *, copy: bool | None = None) -> None:
    """Votes in batches of one transaction each: COPY on PostgreSQL (unless `copy` says otherwise), where
    building model instances and compiling INSERTs was most of the seeding time; bulk_create elsewhere."""
    if copy is None:
        copy = connection.vendor == "postgresql"
    for batch in chunks(rows, 4 * BATCH):
        with transaction.atomic(using=connection.alias):
            if copy:
                with connection.cursor() as cursor:
                    sql = f"COPY {Vote._meta.db_table} ({', '.join(VOTE_COLUMNS)}) FROM STDIN"
                    with cursor.cursor.copy(sql) as writer:
                        for row in batch:
                            writer.write_row(row)
            else:
                created = Vote.objects.bulk_create([Vote(**dict(zip(VOTE_COLUMNS, row, strict=True))) for row in batch])
                # auto_now stamped the moment of seeding; like COPY, say when the vote last changed.
                for ids in chunks(vote.pk for vote in created):
                    Vote.objects.filter(pk__in=ids).update(updated_at=Coalesce("retracted_at", "cast_at"))
        reset_queries()  # with DEBUG on, Django would keep every statement
        if progress:
            progress(len(batch))


# --- Writing a plan ----------------------------------------------------------------------------------------


class NoBar:
    """The progress bar when nobody watches: tqdm's context manager and update(), doing nothing."""

    def __init__(self, label: str, total: int):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int = 1) -> None:
        pass


def advance(bar):
    """progress(done, total) for insert(), moving a bar that counts increments."""
    shown = 0

    def progress(done: int, total: int) -> None:
        nonlocal shown
        bar.update(done - shown)
        shown = done

    return progress


def write(plan: Plan, existing: Existing, *, topic, stances: list, start: datetime.datetime, bar=NoBar) -> None:
    """Insert the plan into `topic`: one transaction per phase, and one per batch for the votes.

    `bar(label, total)` is a progress bar as tqdm makes them (a context manager with update(n)).
    """
    # A crash between phases leaves whole phases behind; counters are then put right by rerunning seed_demo
    # (which extends the topic) or `verify_tallies --fix`.

    def at(seconds: float) -> datetime.datetime:
        return start + datetime.timedelta(seconds=seconds)

    with transaction.atomic(), bar("users", plan.users) as users_bar:
        accounts = build_users(plan, topic.slug, existing.next_number, start)
        accounts = insert(get_user_model(), accounts, progress=advance(users_bar))
    user_ids = existing.users + [user.pk for user in accounts]

    with transaction.atomic(), bar("replies", len(plan.replies)) as replies_bar:
        threads = insert(Thread, build_threads(plan, topic, user_ids, at))
        replies = build_replies(plan, topic, stances, [t.pk for t in threads], user_ids, at)
        insert_replies(plan, replies, progress=advance(replies_bar))
        link_threads(topic.threads.filter(opening_reply=None))
        insert(StanceTally, build_thread_tallies(plan, topic, stances, threads, replies))
        reset_queries()  # with DEBUG on, Django keeps every statement: a batch is megabytes of SQL

    with transaction.atomic(), bar("positions", len(plan.positions)) as positions_bar:
        for pk, until in plan.closes:
            Position.objects.filter(pk=pk).update(until=at(until))
        reply_ids = [reply.pk for reply in replies]
        positions = build_positions(plan, topic, stances, user_ids, reply_ids, at)
        insert(Position, positions, progress=advance(positions_bar))

    with bar("votes", len(plan.votes)) as votes_bar:
        rows = vote_rows(plan, stances, user_ids, target_ids(plan, replies), at)
        insert_votes(rows, connection, progress=votes_bar.update)
