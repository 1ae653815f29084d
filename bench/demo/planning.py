"""The planning half of the demo-data generator: a whole debate decided in memory from one random.Random.

Planning is pure (pool indices, stance numbers, seconds after a start moment); what a topic already holds is
read first (load_existing), so a run can extend it. bench/demo/writing.py turns a plan into rows.
"""

import datetime
import itertools
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Max

from discussions import seed_content
from discussions.models import Position, Reply, Vote

DAY = 86400.0
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


class PlannedReply(NamedTuple):
    thread: int
    parent: int | None  # index of an earlier reply in the same thread
    author: int  # pool index
    stance: int
    created: float
    withdrawn: float | None
    body: str
    depth: int


class PlannedPosition(NamedTuple):
    user: int
    stance: int
    since: float
    until: float | None
    changed: bool  # a change of mind, not a first declaration
    persuaded_by: int | None  # reply index


class PlannedVote(NamedTuple):
    user: int
    target: int  # index into Plan.old_targets + Plan.new_targets
    value: int
    stance: int | None  # the voter's side when casting
    cast: float
    retracted: float | None


@dataclass
class Plan:
    users: int  # accounts to create; pool indices from len(existing.users) on
    threads: list = field(default_factory=list)  # (author, opened, title)
    replies: list[PlannedReply] = field(default_factory=list)
    positions: list[PlannedPosition] = field(default_factory=list)
    closes: list = field(default_factory=list)  # existing open positions to close: (position id, until)
    # What votes go to (Vote.target indexes both lists in turn): existing replies' ids, new visible replies' indices.
    old_targets: list[int] = field(default_factory=list)
    new_targets: list[int] = field(default_factory=list)
    votes: list[PlannedVote] = field(default_factory=list)


class Sides:
    """Each user's side over time: a lean, declared positions and posted replies."""

    def __init__(self, lean: list[int]):
        self.lean = lean
        self.declared = [([], []) for _ in lean]  # since times and stances, in time order
        self.posts = [[] for _ in lean]  # (created, gone, stance)
        self.post_times = []  # each user's posts' created times, set by posted() once every reply is planned

    def declare(self, user: int, since: float, stance: int) -> None:
        times, stances = self.declared[user]
        times.append(since)
        stances.append(stance)

    def posted(self) -> None:
        for posts in self.posts:
            posts.sort(key=itemgetter(0))
        self.post_times = [[created for created, _, _ in posts] for posts in self.posts]

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
        stance = self.declared_at(user, t)
        if stance is not None:
            return stance
        posts = self.posts[user]
        for i in range(bisect_right(self.post_times[user], t) - 1, -1, -1):
            _, gone, stance = posts[i]
            if gone is None or gone > t:
                return stance
        return None


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


def plan(rng, *, users: int, threads: int, replies: int, votes: int, existing: Existing, span: float) -> Plan:
    """Everything to insert, from `rng` alone; raises ValueError when the votes cannot fit."""
    out = Plan(users=users)
    n = len(existing.users) + users
    # Zipf-like activity in random order: a few users post and vote a lot, a long tail hardly at all.
    weights = [1 / rank for rank in range(1, n + 1)]
    rng.shuffle(weights)
    cum = list(itertools.accumulate(weights))
    lean = [0 if rng.random() < LEAN else 1 for _ in range(n)]
    for user, (_, stance) in existing.latest_posts.items():
        lean[user] = stance
    sides = Sides(lean)

    # Positions: 40% declare one; some change their mind once or twice.
    for user in range(n):
        held = existing.positions.get(user)
        last = None  # index in out.positions of the user's open planned position
        if held is not None:
            sides.declare(user, held[2], held[1])
            t, stance = 0.0, held[1]
        elif rng.random() < 0.4:
            t, stance = rng.uniform(0, span), lean[user]
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
                out.closes.append((held[0], t))
            else:
                out.positions[last] = out.positions[last]._replace(until=t)
            last = len(out.positions)
            out.positions.append(PlannedPosition(user, stance, t, None, True, None))
            sides.declare(user, t, stance)

    # Threads of skewed length (each opened by its first reply); replies answer earlier ones in the thread.
    sizes = [1] * threads
    if threads:
        thread_weights = [rng.lognormvariate(0, 1.0) for _ in range(threads)]
        for t in rng.choices(range(threads), weights=thread_weights, k=replies - threads):
            sizes[t] += 1
    for user, (created, stance) in existing.latest_posts.items():
        sides.posts[user].append((created, None, stance))
    for number, size in enumerate(sizes):
        opened = rng.uniform(0, 0.8 * span)
        author = rng.choices(range(n), cum_weights=cum)[0]
        out.threads.append((author, opened, f"{rng.choice(TITLES)} (#{existing.threads + number + 1})"))
        times = sorted(min(span - 1, opened + 1 + rng.expovariate(1 / (2 * DAY))) for _ in range(size - 1))
        authors = rng.choices(range(n), cum_weights=cum, k=size - 1)
        first = len(out.replies)
        for j, (created, who) in enumerate(zip([opened, *times], [author, *authors], strict=True)):
            stance = sides.arguing(who, created)
            if j and rng.random() < 0.2:  # everyone concedes a point to the other side now and then
                stance = 1 - stance
            parent, depth = None, 0
            if j and rng.random() < 0.65:
                k = first + rng.randrange(j)
                # The services only take a parent that is still visible.
                if out.replies[k].withdrawn is None or out.replies[k].withdrawn > created:
                    parent, depth = k, out.replies[k].depth + 1
            # The opening post stays; about 3% of the others are withdrawn within hours.
            withdrawn = min(span, created + rng.expovariate(1 / 21600)) if j and rng.random() < 0.03 else None
            body = rng.choice(BODIES[stance])
            out.replies.append(PlannedReply(number, parent, who, stance, created, withdrawn, body, depth))
            sides.posts[who].append((created, withdrawn, stance))
    sides.posted()

    # Half the changes of mind name a visible reply of the new side, posted before, as what persuaded them.
    persuasive = [
        sorted((r.created, i) for i, r in enumerate(out.replies) if r.stance == s and r.withdrawn is None)
        for s in (0, 1)
    ]
    for i, position in enumerate(out.positions):
        if position.changed and rng.random() < 0.5:
            before = bisect_left(persuasive[position.stance], position.since, key=itemgetter(0))
            if before:
                out.positions[i] = position._replace(persuaded_by=persuasive[position.stance][rng.randrange(before)][1])

    # Votes on every visible reply, old and new, from both sides; never twice by a user on one reply.
    candidates = [
        (author, created, stance, existing.voters.get(pk, set())) for pk, author, created, stance in existing.targets
    ]
    out.old_targets = [pk for pk, *_ in existing.targets]
    out.new_targets = [i for i, r in enumerate(out.replies) if r.withdrawn is None]
    candidates += [
        (out.replies[i].author, out.replies[i].created, out.replies[i].stance, set()) for i in out.new_targets
    ]
    caps = [n - (author is not None) - len(voted) for author, _, _, voted in candidates]
    counts = vote_counts(rng, len(candidates), votes, caps)
    # Flatter than posting: lurkers vote too.
    vote_cum = list(itertools.accumulate(w**0.5 for w in weights))
    for target, ((author, created, stance, voted), count) in enumerate(zip(candidates, counts, strict=True)):
        if not count:
            continue
        appeal = rng.uniform(-0.15, 0.15)  # some replies please everyone more than others
        for user in pick_voters(rng, count, vote_cum, {author, *voted}):
            cast = min(span, max(created, 0.0) + rng.expovariate(1 / DAY))
            side = sides.voter_stance(user, cast)
            up = 0.55 if side is None else 0.8 if side == stance else 0.3
            retracted = cast + rng.expovariate(1 / 3600) if rng.random() < 0.02 else None
            out.votes.append(PlannedVote(user, target, 1 if rng.random() < up + appeal else -1, side, cast, retracted))
    return out
