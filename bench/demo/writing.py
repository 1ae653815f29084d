"""The writing half of the demo-data generator: a plan turned into rows and bulk-loaded, phase by phase.

Every counter the plan implies goes in with the rows (replies' votes and rankings, thread and topic stance
tallies, participations, daily tallies, the topic's counts), so the tallies_audit that follows has nothing
to repair. Rows are streamed to bench/demo/loading.py: COPY on PostgreSQL, executemany on SQLite.
"""

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bench.demo import loading
from bench.demo.loading import DAY_US, chunks, load
from bench.demo.planning import NEVER, STANCES, Existing, Plan, username
from discussions import formatting
from discussions.models import DailyTally, Participation, Position, Reply, StanceTally, Thread, Topic, Vote
from discussions.ranking import bridging, controversy, wilson_lower_bound
from discussions.summary_cache import summary_invalidate

# Django's marker of an unusable password; make_password(None) appends random characters, which are not reproducible.
UNUSABLE_PASSWORD = "!"
VISIBLE, WITHDRAWN = Reply.State.VISIBLE.value, Reply.State.WITHDRAWN.value
# The debate's tables write() fills, besides the accounts.
WRITTEN = (Thread, Reply, StanceTally, Participation, Position, Vote, DailyTally)


@dataclass
class Ids:
    """Primary keys by plan index: users by pool index, threads and replies by number, stances by number."""

    users: list[int]
    threads: Sequence[int]
    replies: Sequence[int]
    stances: list  # stance number → id, and None at index -1: a vote's "no side" is stance -1

    def stance(self, number: int):
        return self.stances[number]


def rankings(up: int, down: int, by_stance: dict, slugs: list[str]) -> dict:
    """A reply's stored rankings, as bookkeeping.reply_rerank computes them, from its counters."""
    return {
        "score": up - down,
        "wilson": wilson_lower_bound(up, down),
        "controversy": controversy(up, down),
        "bridging": bridging({slug: (v["up"], v["down"]) for slug, v in by_stance.items()}, slugs),
    }


def visible_tallies(plan: Plan):
    """(reply index, its six active-vote counts) for each visible new reply, in reply order."""
    tallies, at = plan.tallies, 6 * len(plan.old_targets)
    for i in plan.new_targets:
        yield i, tallies[at : at + 6]
        at += 6


def up_down(t) -> tuple[int, int]:
    return t[0] + t[2] + t[4], t[1] + t[3] + t[5]


# --- Rows ----------------------------------------------------------------------------------------------------

THREAD_COLUMNS = (
    "id",
    "topic_id",
    "author_id",
    "title",
    "created_at",
    "updated_at",
    "last_activity_at",
    "reply_count",
    "participant_count",
)


def thread_rows(plan: Plan, topic, ids: Ids, at):
    """Threads with their counters (visible replies, distinct authors of them); opening replies come later."""
    r = plan.replies
    # The plan lays replies out thread by thread, so each thread's replies are one run.
    for number, run in groupby(range(len(r)), key=r.thread.__getitem__):
        run = list(run)
        shown = [r.author[i] for i in run if r.withdrawn[i] == NEVER]
        author, opened, title = plan.threads[number]
        last = at(max(r.created[i] for i in run))
        yield (
            ids.threads[number],
            topic.pk,
            ids.users[author],
            title,
            at(opened),
            last,
            last,
            len(shown),
            len(set(shown)),
        )


REPLY_COLUMNS = (
    "id",
    "topic_id",
    "thread_id",
    "parent_id",
    "author_id",
    "stance_id",
    "body",
    "body_html",
    "render_version",
    "state",
    "upvotes",
    "downvotes",
    "votes_by_stance",
    "score",
    "wilson",
    "controversy",
    "bridging",
    "persuaded_count",
    "created_at",
    "updated_at",
    "withdrawn_at",
)


def rendered(body: str) -> str:
    return formatting.render(body, find_users=lambda names: {}, find_replies=lambda ids: {}, strict=False).html


def reply_rows(plan: Plan, topic, slugs: list[str], ids: Ids, at):
    """Replies with their vote counters and rankings already right, so the audit has nothing to rewrite."""
    r = plan.replies
    persuaded = Counter(p.persuaded_by for p in plan.positions if p.persuaded_by is not None)
    tallies = dict(visible_tallies(plan))
    # Bodies are drawn from a few hundred shared strings: each is rendered once (they quote and mention nobody).
    html = {id(body): rendered(body) for body in {id(b): b for b in r.body}.values()}
    none = (0,) * 6
    for i in range(len(r)):
        t = tallies.get(i, none)
        up, down = up_down(t)
        by_stance = {slugs[0]: {"up": t[2], "down": t[3]}, slugs[1]: {"up": t[4], "down": t[5]}}
        ranks = rankings(up, down, by_stance, slugs)
        created, parent = at(r.created[i]), r.parent[i]
        withdrawn = None if r.withdrawn[i] == NEVER else at(r.withdrawn[i])
        yield (
            ids.replies[i],
            topic.pk,
            ids.threads[r.thread[i]],
            None if parent < 0 else ids.replies[parent],
            ids.users[r.author[i]],
            ids.stance(r.stance[i]),
            r.body[i],
            html[id(r.body[i])],
            formatting.RENDER_VERSION,
            VISIBLE if withdrawn is None else WITHDRAWN,
            up,
            down,
            by_stance,
            ranks["score"],
            ranks["wilson"],
            ranks["controversy"],
            ranks["bridging"],
            persuaded[i],
            created,
            created if withdrawn is None else withdrawn,
            withdrawn,
        )


TALLY_COLUMNS = ("topic_id", "thread_id", "stance_id", "replies", "participants", "upvotes", "downvotes")


def thread_tally_rows(plan: Plan, topic, ids: Ids):
    """Per-stance tallies of the new threads, one row per thread and stance: all of them are new."""
    r = plan.replies
    tallies, authors = {}, defaultdict(set)
    for i, t in visible_tallies(plan):
        key = (r.thread[i], r.stance[i])
        row = tallies.setdefault(key, [0, 0, 0])
        up, down = up_down(t)
        row[0], row[1], row[2] = row[0] + 1, row[1] + up, row[2] + down
        authors[key].add(r.author[i])
    # Every thread gets a row per stance, zero where a stance has no reply yet, as thread_create leaves it.
    for thread in range(len(plan.threads)):
        for stance in range(len(STANCES)):
            replies, up, down = tallies.get((thread, stance), (0, 0, 0))
            yield (topic.pk, ids.threads[thread], ids.stance(stance), replies, len(authors[thread, stance]), up, down)


PARTICIPATION_COLUMNS = ("topic_id", "thread_id", "stance_id", "user_id", "replies")


def participations(plan: Plan, topic, ids: Ids) -> Counter:
    """Each author's visible replies in each of the four scopes, written; returns the topic-wide
    participants gained, by stance number (-1: all stances)."""
    r = plan.replies
    # Existing topic-wide rows are added to, not inserted again: an extended topic has them already.
    old = {(row.stance_id, row.user_id): row for row in Participation.objects.filter(topic=topic, thread=None)}
    topic_wide = Counter()  # (stance number or -1, pool index) → visible replies

    def rows():
        for number, run in groupby(range(len(r)), key=r.thread.__getitem__):
            here = Counter()
            for i in run:
                if r.withdrawn[i] == NEVER:
                    here[r.stance[i], r.author[i]] += 1
                    here[-1, r.author[i]] += 1
            for (stance, author), n in here.items():
                topic_wide[stance, author] += n
                yield (topic.pk, ids.threads[number], ids.stance(stance), ids.users[author], n)
        for (stance, author), n in topic_wide.items():
            if (ids.stance(stance), ids.users[author]) not in old:
                yield (topic.pk, None, ids.stance(stance), ids.users[author], n)

    load(Participation, PARTICIPATION_COLUMNS, rows(), count=3 * len(plan.new_targets), rebuild=True)
    joined, changed = Counter(), []
    for (stance, author), n in topic_wide.items():
        row = old.get((ids.stance(stance), ids.users[author]))
        if row is None or not row.replies:
            joined[stance] += 1
        if row is not None:
            row.replies += n
            changed.append(row)
    Participation.objects.bulk_update(changed, ["replies"], batch_size=1000)
    return joined


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


def vote_rows(plan: Plan, ids: Ids, at, upvotes: Counter):
    """Each planned vote as a row of VOTE_COLUMNS, one at a time, counting active upvotes by (stance, day)."""
    v, r = plan.votes, plan.replies
    reply_ids = [*plan.old_targets, *(ids.replies[i] for i in plan.new_targets)]
    stances = bytes([*plan.old_stances, *(r.stance[i] for i in plan.new_targets)])
    users, voter_stance, base = ids.users, ids.stance, at(0.0)
    columns = (v.user, v.target, v.value, v.stance, v.cast, v.retracted)
    for user, target, value, stance, cast, retracted in zip(*columns, strict=True):
        cast = base + round(cast * 1_000_000)
        if retracted == NEVER:
            retracted, updated = None, cast
            if value == 1:
                upvotes[stances[target], cast // DAY_US] += 1
        else:
            retracted = updated = at(retracted)
        yield (users[user], reply_ids[target], value, voter_stance(stance), cast, cast, updated, retracted)


# --- Counters beyond the new rows ------------------------------------------------------------------------------


def old_targets_counted(plan: Plan, slugs: list[str]) -> None:
    """Add the new votes on existing replies to those replies' counters and to their threads' tallies."""
    moved = {
        pk: plan.tallies[6 * j : 6 * j + 6]
        for j, pk in enumerate(plan.old_targets)
        if any(plan.tallies[6 * j : 6 * j + 6])
    }
    fields = ["upvotes", "downvotes", "votes_by_stance", "score", "wilson", "controversy", "bridging"]
    threads = Counter()
    for batch in chunks(moved, 1000):
        replies = list(Reply.objects.filter(pk__in=batch).only("id", "thread_id", "stance_id", *fields))
        for reply in replies:
            t = moved[reply.pk]
            up, down = up_down(t)
            reply.upvotes, reply.downvotes = reply.upvotes + up, reply.downvotes + down
            for s, slug in enumerate(slugs):
                counts = reply.votes_by_stance.setdefault(slug, {"up": 0, "down": 0})
                counts["up"], counts["down"] = counts.get("up", 0) + t[2 + 2 * s], counts.get("down", 0) + t[3 + 2 * s]
            for name, value in rankings(reply.upvotes, reply.downvotes, reply.votes_by_stance, slugs).items():
                setattr(reply, name, value)
            threads[reply.thread_id, reply.stance_id, "upvotes"] += up
            threads[reply.thread_id, reply.stance_id, "downvotes"] += down
        Reply.objects.bulk_update(replies, fields)
    for (thread_id, stance_id, name), n in threads.items():
        StanceTally.objects.filter(thread_id=thread_id, stance_id=stance_id).update(**{name: F(name) + n})


def daily_added(topic, ids: Ids, moves: dict) -> None:
    """Add {(stance number, day number): [replies, upvotes, positions_delta]} to the topic's daily tallies."""
    days = {loading.day(n * DAY_US) for _, n in moves}
    rows = {(d.stance_id, d.day): d for d in DailyTally.objects.filter(topic=topic, day__in=days)}
    new = []
    for (stance, n), (replies, upvotes, delta) in sorted(moves.items()):
        key = (ids.stance(stance), loading.day(n * DAY_US))
        row = rows.get(key)
        if row is None:
            new.append(DailyTally(topic=topic, stance_id=key[0], day=key[1], replies=0, upvotes=0, positions_delta=0))
            row = new[-1]
        row.replies += replies
        row.upvotes += upvotes
        row.positions_delta += delta
    DailyTally.objects.bulk_update(list(rows.values()), ["replies", "upvotes", "positions_delta"])
    DailyTally.objects.bulk_create(new)


def topic_counted(plan: Plan, topic, ids: Ids, at, joined: Counter, upvotes: Counter) -> None:
    """The topic's own counters, its stance tallies and its daily tallies, moved by everything written."""
    r = plan.replies
    moves = defaultdict(lambda: [0, 0, 0])  # (stance number, day number) → replies, upvotes, positions delta
    by_stance = defaultdict(Counter)  # stance number → replies, upvotes, downvotes, positions
    for i in plan.new_targets:
        moves[r.stance[i], at(r.created[i]) // DAY_US][0] += 1
        by_stance[r.stance[i]]["replies"] += 1
    for (stance, n), k in upvotes.items():
        moves[stance, n][1] += k
    stances = [*plan.old_stances, *(r.stance[i] for i in plan.new_targets)]
    for j, stance in enumerate(stances):
        up, down = up_down(plan.tallies[6 * j : 6 * j + 6])
        by_stance[stance]["upvotes"] += up
        by_stance[stance]["downvotes"] += down
    for p in plan.positions:
        moves[p.stance, at(p.since) // DAY_US][2] += 1
        if p.until is None:
            by_stance[p.stance]["positions"] += 1
        else:
            moves[p.stance, at(p.until) // DAY_US][2] -= 1
    for _, stance, until in plan.closes:
        moves[stance, at(until) // DAY_US][2] -= 1
        by_stance[stance]["positions"] -= 1

    now = timezone.now()
    for stance in (0, 1):
        change = {**by_stance[stance], "participants": joined[stance]}
        tally, _ = StanceTally.objects.get_or_create(topic=topic, thread=None, stance_id=ids.stance(stance))
        StanceTally.objects.filter(pk=tally.pk).update(updated_at=now, **{k: F(k) + n for k, n in change.items()})
    positions = Position.objects.filter(topic=topic)
    Topic.objects.filter(pk=topic.pk).update(
        thread_count=F("thread_count") + len(plan.threads),
        reply_count=F("reply_count") + len(plan.new_targets),
        participant_count=F("participant_count") + joined[-1],
        # Shifts are positions beyond each user's first: recounted, since the plan sees only the demo users.
        shift_count=positions.count() - positions.values("user").distinct().count(),
    )
    daily_added(topic, ids, moves)


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


def write(plan: Plan, existing: Existing, *, topic, stances: list, start, bar=NoBar) -> None:
    """Insert the plan into `topic`: one transaction per phase.

    `bar(label, total)` is a progress bar as tqdm makes them (a context manager with update(n)).
    """
    # A crash between phases leaves whole phases behind; counters are then put right by rerunning seed_demo
    # (which extends the topic) or `verify_tallies --fix`.
    base = loading.micros(start)

    def at(seconds: float) -> int:
        return base + round(seconds * 1_000_000)

    User = get_user_model()
    with transaction.atomic(), bar("users", plan.users) as users_bar:
        new_users = loading.reserve_ids(User, plan.users)
        accounts = (
            (pk, username(topic.slug, existing.next_number + i), UNUSABLE_PASSWORD, base)
            for i, pk in enumerate(new_users)
        )
        load(User, ("id", "username", "password", "date_joined"), accounts, count=plan.users, progress=users_bar.update)

    slugs = [s.slug for s in stances]
    with transaction.atomic(), bar("replies", len(plan.replies)) as replies_bar:
        ids = Ids(
            users=[*existing.users, *new_users],
            threads=loading.reserve_ids(Thread, len(plan.threads)),
            replies=loading.reserve_ids(Reply, len(plan.replies)),
            stances=[s.pk for s in stances] + [None],
        )
        load(Thread, THREAD_COLUMNS, thread_rows(plan, topic, ids, at), count=len(plan.threads))
        rows = reply_rows(plan, topic, slugs, ids, at)
        load(Reply, REPLY_COLUMNS, rows, count=len(plan.replies), rebuild=True, progress=replies_bar.update)
        # Each thread's first reply opens it; the replies had to exist first.
        starts = [i for i in range(len(plan.replies)) if i == 0 or plan.replies.thread[i] != plan.replies.thread[i - 1]]
        opened = [Thread(pk=ids.threads[plan.replies.thread[i]], opening_reply_id=ids.replies[i]) for i in starts]
        Thread.objects.bulk_update(opened, ["opening_reply"], batch_size=1000)
        load(StanceTally, TALLY_COLUMNS, thread_tally_rows(plan, topic, ids), count=2 * len(plan.threads))
        joined = participations(plan, topic, ids)

    with transaction.atomic(), bar("positions", len(plan.positions)) as positions_bar:
        for pk, _, until in plan.closes:
            Position.objects.filter(pk=pk).update(until=loading.moment(at(until)))
        rows = (
            (
                ids.users[p.user],
                topic.pk,
                ids.stance(p.stance),
                None if p.persuaded_by is None else ids.replies[p.persuaded_by],
                at(p.since),
                None if p.until is None else at(p.until),
            )
            for p in plan.positions
        )
        columns = ("user_id", "topic_id", "stance_id", "persuaded_by_id", "since", "until")
        load(Position, columns, rows, count=len(plan.positions), progress=positions_bar.update)

    upvotes = Counter()  # active upvotes on the targets by (reply's stance number, day number)
    with bar("votes", len(plan.votes)) as votes_bar:
        rows = vote_rows(plan, ids, at, upvotes)
        load(Vote, VOTE_COLUMNS, rows, count=len(plan.votes), rebuild=True, progress=votes_bar.update)

    with transaction.atomic():
        old_targets_counted(plan, slugs)
        topic_counted(plan, topic, ids, at, joined, upvotes)
    summary_invalidate(topic.pk)
