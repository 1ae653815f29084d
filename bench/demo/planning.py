"""The planning half of the demo-data generator: a whole debate decided in memory from one random.Random.

Planning is pure (pool indices, stance numbers, seconds after a start moment); what a topic already holds is
read first (load_existing), so a run can extend it. bench/demo/writing.py turns a plan into rows.
Replies and votes are kept as columns of typed arrays: five million votes take 130 MB so, not gigabytes.
"""

import datetime
import itertools
import math
import re
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Max

from discussions import seed_content
from discussions.models import Position, Reply, Vote

DAY = 86400.0
NEVER = math.inf  # the withdrawal or retraction time of what stays: later than any moment it is compared with
STANCES = [s["slug"] for s in seed_content.STANCES]  # pro-tester, pro-openai: stance numbers 0 and 1
LEAN = 0.55  # share of users leaning to the first stance
TITLES = [spec["title"] for spec in seed_content.THREADS]
BODIES = [
    [
        post["body"]
        for spec in seed_content.THREADS
        for post in (spec["opening"], *spec["replies"])
        if post["stance"] == s
    ]
    for s in STANCES
]


def vote_counts(rng, replies: int, votes: int, caps: list[int]) -> list[int]:
    """Votes per reply: skewed (a few replies draw most votes), summing to `votes`, none above its cap."""
    if votes > sum(caps):
        raise ValueError(
            f"{votes:,} votes do not fit: {replies:,} replies take {sum(caps):,} (one per user and reply)."
        )
    weights = [rng.lognormvariate(0, 1.2) for _ in range(replies)]
    scale = votes / sum(weights) if votes else 0
    counts = [min(cap, int(w * scale)) for w, cap in zip(weights, caps, strict=True)]
    short = votes - sum(counts)
    while short:
        i = rng.randrange(replies)
        if counts[i] < caps[i]:
            counts[i] += 1
            short -= 1
    return counts


# --- What the topic already holds --------------------------------------------------------------------------


def username(slug: str, number: int) -> str:
    return f"demo-{slug}-{number}"


@dataclass
class Existing:
    """What a topic already holds that new activity builds on; times are seconds after the start (negative)."""

    users: list[int] = field(default_factory=list)  # the topic's demo users' ids, in numbering order
    next_number: int = 1
    threads: int = 0
    positions: dict = field(default_factory=dict)  # pool index → (position id, stance number, since)
    latest_posts: dict = field(default_factory=dict)  # pool index → (created, stance number)
    targets: list = field(default_factory=list)  # visible replies: (id, author's pool index or None, created, stance)
    voters: dict = field(default_factory=dict)  # reply id → pool indices that voted on it


def latest_activity(topic) -> datetime.datetime | None:
    """The topic's last recorded moment: new activity starts after it."""
    moments = [
        *Reply.objects.filter(topic=topic).aggregate(Max("created_at"), Max("withdrawn_at"), Max("hidden_at")).values(),
        *Vote.objects.filter(reply__topic=topic).aggregate(Max("cast_at"), Max("retracted_at")).values(),
        *Position.objects.filter(topic=topic).aggregate(Max("since"), Max("until")).values(),
    ]
    return max((m for m in moments if m is not None), default=None)


def load_existing(topic, stances: list, start: datetime.datetime) -> Existing:
    """The demo users of `topic` (numbered `demo-<slug>-<n>`), their sides, and the replies open to votes."""
    prefix = username(topic.slug, "")
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    numbered = sorted(
        (int(match[1]), pk)
        for pk, name in get_user_model().objects.filter(username__startswith=prefix).values_list("pk", "username")
        if (match := pattern.fullmatch(name))
    )
    index = {pk: i for i, (_, pk) in enumerate(numbered)}
    number = {s.pk: i for i, s in enumerate(stances)}

    def seconds(moment):
        return (moment - start).total_seconds()

    found = Existing(users=[pk for _, pk in numbered], next_number=numbered[-1][0] + 1 if numbered else 1)
    found.threads = topic.threads.count()
    current = Position.objects.filter(topic=topic, until=None, user__username__startswith=prefix)
    for pk, user_id, stance_id, since in current.values_list("pk", "user_id", "stance_id", "since"):
        if user_id in index:
            found.positions[index[user_id]] = (pk, number[stance_id], seconds(since))
    visible = Reply.objects.filter(topic=topic, state=Reply.State.VISIBLE).order_by("created_at", "id")
    for pk, author_id, created, stance_id in visible.values_list("pk", "author_id", "created_at", "stance_id"):
        author = index.get(author_id)
        found.targets.append((pk, author, seconds(created), number[stance_id]))
        if author is not None:
            found.latest_posts[author] = (seconds(created), number[stance_id])
    votes = Vote.objects.filter(reply__topic=topic, user__username__startswith=prefix)
    for reply_id, user_id in votes.values_list("reply_id", "user_id"):
        if user_id in index:
            found.voters.setdefault(reply_id, set()).add(index[user_id])
    return found


# --- The plan ----------------------------------------------------------------------------------------------


class Replies:
    """The planned replies, one array per column, in creation order within each thread."""

    def __init__(self):
        self.thread = array("i")
        self.parent = array("i")  # index of an earlier reply in the same thread; -1 for none
        self.author = array("i")  # pool index
        self.stance = array("b")
        self.created = array("d")
        self.withdrawn = array("d")  # NEVER for a reply that stays
        self.body = []  # references to the shared BODIES strings

    def __len__(self) -> int:
        return len(self.thread)


class Votes:
    """The planned votes, one array per column, grouped by target."""

    def __init__(self):
        self.user = array("i")  # pool index
        self.target = array("i")  # index into Plan.old_targets + Plan.new_targets
        self.value = array("b")
        self.stance = array("b")  # the voter's side when casting; -1 for none
        self.cast = array("d")
        self.retracted = array("d")  # NEVER for a vote that stays

    def __len__(self) -> int:
        return len(self.user)


# Plan.tallies holds six counts per target, at 6 * target + TALLY[voter stance + 1] + (0 up, 1 down).
TALLY = (0, 2, 4)


class PlannedPosition(NamedTuple):
    user: int
    stance: int
    since: float
    until: float | None
    changed: bool  # a change of mind, not a first declaration
    persuaded_by: int | None  # reply index


@dataclass
class Plan:
    users: int  # accounts to create; pool indices from len(existing.users) on
    threads: list = field(default_factory=list)  # (author, opened, title)
    replies: Replies = field(default_factory=Replies)
    positions: list[PlannedPosition] = field(default_factory=list)
    closes: list = field(default_factory=list)  # existing open positions to close: (position id, stance, until)
    # What votes go to (a vote's target indexes both lists in turn): existing replies' ids and stances, then
    # new visible replies' indices.
    old_targets: list[int] = field(default_factory=list)
    old_stances: list[int] = field(default_factory=list)
    new_targets: list[int] = field(default_factory=list)
    votes: Votes = field(default_factory=Votes)
    tallies: array = field(default_factory=lambda: array("i"))  # the active votes on each target, by TALLY

    def withdrawn(self) -> int:
        return sum(t != NEVER for t in self.replies.withdrawn)

    def retracted(self) -> int:
        return sum(t != NEVER for t in self.votes.retracted)


class Sides:
    """Each user's side over time: a lean, declared positions and posted replies."""

    def __init__(self, lean: list[int], weights: list[float], replies: Replies, old_posts: dict):
        self.lean = lean
        self.weights = weights  # how active each user is
        self.cum = list(itertools.accumulate(weights))
        self.replies = replies
        self.old_posts = old_posts  # pool index → (created, stance) of their latest visible reply before the start
        self.declared = [([], []) for _ in lean]  # since times and stances, in time order
        self.posts = [[] for _ in lean]  # each user's reply indices, sorted by posted()
        self.post_times = []  # the created times of those, set by posted() once every reply is planned

    def declare(self, user: int, since: float, stance: int) -> None:
        times, stances = self.declared[user]
        times.append(since)
        stances.append(stance)

    def posted(self) -> None:
        created = self.replies.created
        for posts in self.posts:
            posts.sort(key=created.__getitem__)
        self.post_times = [[created[i] for i in posts] for posts in self.posts]

    def declared_at(self, user: int, t: float) -> int | None:
        times, stances = self.declared[user]
        i = bisect_right(times, t)
        return stances[i - 1] if i else None

    def arguing(self, user: int, t: float) -> int:
        """The side a user argues at `t`: their declared position, else their lean."""
        stance = self.declared_at(user, t)
        return self.lean[user] if stance is None else stance

    def voter_stance(self, user: int, t: float) -> int | None:
        """As services.votes._voters_side at `t`: declared position, else latest reply still visible, else none."""
        times, stances = self.declared[user]  # declared_at(), inlined: this runs once per vote
        if times and (i := bisect_right(times, t)):
            return stances[i - 1]
        posts, withdrawn = self.posts[user], self.replies.withdrawn
        for i in range(bisect_right(self.post_times[user], t) - 1, -1, -1):
            if withdrawn[posts[i]] > t:
                return self.replies.stance[posts[i]]
        old = self.old_posts.get(user)  # older than every new reply, and still visible
        return None if old is None or old[0] > t else old[1]


def pick_voters(rng, count: int, cum_weights: list[float], excluded: set) -> list[int]:
    """`count` distinct users drawn by weight (active users vote more), none of them in `excluded`."""
    picked = {}  # a dict keeps the draw order, so the result is reproducible
    population = range(len(cum_weights))
    for _ in range(3):
        for user in rng.choices(population, cum_weights=cum_weights, k=2 * count):
            if user not in excluded and user not in picked:
                picked[user] = None
                if len(picked) == count:
                    return list(picked)
    # Weighted draws stall when nearly everyone must vote: the rest come uniformly from whoever is left.
    rest = [u for u in population if u not in excluded and u not in picked]
    return [*picked, *rng.sample(rest, count - len(picked))]


def plan_positions(rng, out: Plan, sides: Sides, existing: Existing, n: int, span: float) -> None:
    """Positions: 40% declare one; some change their mind once or twice."""
    for user in range(n):
        held = existing.positions.get(user)
        last = None  # index in out.positions of the user's open planned position
        if held is not None:
            sides.declare(user, held[2], held[1])
            t, stance = 0.0, held[1]
        elif rng.random() < 0.4:
            t, stance = rng.uniform(0, span), sides.lean[user]
            last = len(out.positions)
            out.positions.append(PlannedPosition(user, stance, t, None, False, None))
            sides.declare(user, t, stance)
        else:
            continue
        for _ in range(2):
            if rng.random() >= 0.3:
                break
            t, stance = rng.uniform(t, span), 1 - stance
            if last is None:
                out.closes.append((held[0], held[1], t))
            else:
                out.positions[last] = out.positions[last]._replace(until=t)
            last = len(out.positions)
            out.positions.append(PlannedPosition(user, stance, t, None, True, None))
            sides.declare(user, t, stance)


def plan_replies(rng, out: Plan, sides: Sides, existing: Existing, threads: int, replies: int, span: float) -> None:
    """Threads of skewed length (each opened by its first reply); replies answer earlier ones in the thread."""
    n, cum = len(sides.lean), sides.cum
    sizes = [1] * threads
    if threads:
        thread_weights = [rng.lognormvariate(0, 1.0) for _ in range(threads)]
        for t in rng.choices(range(threads), weights=thread_weights, k=replies - threads):
            sizes[t] += 1
    r = out.replies
    for number, size in enumerate(sizes):
        opened = rng.uniform(0, 0.8 * span)
        author = rng.choices(range(n), cum_weights=cum)[0]
        out.threads.append((author, opened, f"{rng.choice(TITLES)} (#{existing.threads + number + 1})"))
        times = sorted(min(span - 1, opened + 1 + rng.expovariate(1 / (2 * DAY))) for _ in range(size - 1))
        authors = rng.choices(range(n), cum_weights=cum, k=size - 1)
        first = len(r)
        for j, (created, who) in enumerate(zip([opened, *times], [author, *authors], strict=True)):
            stance = sides.arguing(who, created)
            if j and rng.random() < 0.2:  # everyone concedes a point to the other side now and then
                stance = 1 - stance
            parent = -1
            if j and rng.random() < 0.65:
                k = first + rng.randrange(j)
                if r.withdrawn[k] > created:  # the services only take a parent that is still visible
                    parent = k
            # The opening post stays; about 3% of the others are withdrawn within hours.
            withdrawn = min(span, created + rng.expovariate(1 / 21600)) if j and rng.random() < 0.03 else NEVER
            sides.posts[who].append(len(r))
            r.thread.append(number)
            r.parent.append(parent)
            r.author.append(who)
            r.stance.append(stance)
            r.created.append(created)
            r.withdrawn.append(withdrawn)
            r.body.append(rng.choice(BODIES[stance]))
    sides.posted()


def plan_persuasion(rng, out: Plan) -> None:
    """Half the changes of mind name a visible reply of the new side, posted before, as what persuaded them."""
    r = out.replies
    persuasive = [
        sorted((i for i in range(len(r)) if r.stance[i] == s and r.withdrawn[i] == NEVER), key=r.created.__getitem__)
        for s in (0, 1)
    ]
    for i, position in enumerate(out.positions):
        if position.changed and rng.random() < 0.5:
            candidates = persuasive[position.stance]
            before = bisect_left(candidates, position.since, key=r.created.__getitem__)
            if before:
                out.positions[i] = position._replace(persuaded_by=candidates[rng.randrange(before)])


def plan_votes(rng, out: Plan, sides: Sides, existing: Existing, votes: int, span: float) -> None:
    """Votes on every visible reply, old and new, from both sides; never twice by a user on one reply."""
    r, n = out.replies, len(sides.lean)
    out.old_targets = [pk for pk, *_ in existing.targets]
    out.old_stances = [stance for *_, stance in existing.targets]
    out.new_targets = [i for i in range(len(r)) if r.withdrawn[i] == NEVER]
    none = frozenset()  # shared: one empty set per target would take 100 MB at half a million replies
    candidates = [
        (author, created, stance, existing.voters.get(pk, none)) for pk, author, created, stance in existing.targets
    ]
    candidates += [(r.author[i], r.created[i], r.stance[i], none) for i in out.new_targets]
    caps = [n - (author is not None) - len(voted) for author, _, _, voted in candidates]
    counts = vote_counts(rng, len(candidates), votes, caps)
    del caps
    # Flatter than posting: lurkers vote too.
    vote_cum = list(itertools.accumulate(w**0.5 for w in sides.weights))
    v, tallies = out.votes, array("i", bytes(4 * 6 * len(candidates)))
    # Bound methods, looked up once: this loop runs once per vote, millions of times.
    expovariate, random, voter_stance = rng.expovariate, rng.random, sides.voter_stance
    add_user, add_target, add_value = v.user.append, v.target.append, v.value.append
    add_stance, add_cast, add_retracted = v.stance.append, v.cast.append, v.retracted.append
    for target, ((author, created, stance, voted), count) in enumerate(zip(candidates, counts, strict=True)):
        if not count:
            continue
        appeal = rng.uniform(-0.15, 0.15)  # some replies please everyone more than others
        base = max(created, 0.0)
        for user in pick_voters(rng, count, vote_cum, {author, *voted}):
            cast = min(span, base + expovariate(1 / DAY))
            side = voter_stance(user, cast)
            up = 0.55 if side is None else 0.8 if side == stance else 0.3
            retracted = cast + expovariate(1 / 3600) if random() < 0.02 else NEVER
            value = 1 if random() < up + appeal else -1
            side = -1 if side is None else side
            add_user(user)
            add_target(target)
            add_value(value)
            add_stance(side)
            add_cast(cast)
            add_retracted(retracted)
            if retracted == NEVER:
                tallies[6 * target + TALLY[side + 1] + (value < 0)] += 1
    out.tallies = tallies


def plan(rng, *, users: int, threads: int, replies: int, votes: int, existing: Existing, span: float) -> Plan:
    """Everything to insert, from `rng` alone; raises ValueError when the votes cannot fit."""
    out = Plan(users=users)
    n = len(existing.users) + users
    # Zipf-like activity in random order: a few users post and vote a lot, a long tail hardly at all.
    weights = [1 / rank for rank in range(1, n + 1)]
    rng.shuffle(weights)
    lean = [0 if rng.random() < LEAN else 1 for _ in range(n)]
    for user, (_, stance) in existing.latest_posts.items():
        lean[user] = stance
    sides = Sides(lean, weights, out.replies, existing.latest_posts)
    plan_positions(rng, out, sides, existing, n, span)
    plan_replies(rng, out, sides, existing, threads, replies, span)
    plan_persuasion(rng, out)
    plan_votes(rng, out, sides, existing, votes, span)
    return out
