"""The timed writes on the large topic: votes, new replies and changes of position, each a real change."""

import itertools
import json
import random
import threading

from bench.load import Endpoint, Request

VOTERS = 24  # fresh accounts that cast the timed votes: every POST is a new (user, reply) pair
AUTHORS = 64  # the topic's own participants who post the timed replies, in turn
MOVERS = 256  # participants who change their position, in turn: each one's history grows slowly


class Counter:
    """A thread-safe running number: which request of the run this is."""

    def __init__(self):
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            return next(self._numbers)


class Votes:
    """Hands out (token, reply) pairs no one has used: every vote is a fresh cast, never a no-op repeat."""

    SPREAD = 64  # consecutive votes on different replies, then the next voter

    def __init__(self, tokens: list[str], targets: list[int]):
        self.tokens, self.targets = tokens, targets
        self.available = len(tokens) * (len(targets) // self.SPREAD) * self.SPREAD
        self._taken = Counter()

    def next(self) -> Request:
        # Replies change with every vote, or all the clients would queue on one reply's row lock; voters
        # change every SPREAD votes, or one voter's throttle history would grow with the whole run.
        i = self._taken.next()
        if i >= self.available:
            raise RuntimeError("bench: out of fresh (voter, reply) pairs")
        block, j = divmod(i, len(self.tokens) * self.SPREAD)
        token, reply = self.tokens[j // self.SPREAD], self.targets[block * self.SPREAD + j % self.SPREAD]
        body = json.dumps({"value": 1 if reply % 3 else -1}).encode()
        return Request("POST", f"/api/replies/{reply}/vote/", body, token)


class ReplyPosts:
    """New replies from the topic's authors in turn, each into the next thread: no two in a row share a row lock."""

    def __init__(self, tokens: list[str], threads: list[int], stance: str):
        self.tokens, self.threads, self.stance = tokens, threads, stance
        self._taken = Counter()

    def next(self) -> Request:
        i = self._taken.next()
        body = {
            "thread": self.threads[i % len(self.threads)],
            "body": f"Bench reply {i}: one more argument posted while seven other clients read and write.",
            "stance": self.stance,
        }
        return Request("POST", "/api/replies/", json.dumps(body).encode(), self.tokens[i % len(self.tokens)])


class PositionChanges:
    """Each user in turn moves to the stance they do not hold: every PUT is a change of mind, never a no-op."""

    def __init__(self, movers: list[tuple[str, int]], slug: str, stances: list[str]):
        # movers: (token, index in `stances` of the stance the user's next PUT declares)
        self.movers, self.slug, self.stances = movers, slug, stances
        self._taken = Counter()

    def next(self) -> Request:
        i = self._taken.next()
        turn, who = divmod(i, len(self.movers))
        token, first = self.movers[who]
        # The same user comes back only after every other one, so their previous PUT has long been answered.
        stance = self.stances[(first + turn) % len(self.stances)]
        return Request("PUT", f"/api/topics/{self.slug}/position/", json.dumps({"stance": stance}).encode(), token)


def _tokens(users) -> list[str]:
    """A new API token for each user (only digests are stored, so a run cannot reuse an earlier run's)."""
    from django.utils import timezone

    from forum.models import ApiToken

    made = [ApiToken.objects.create(user=user) for user in users]
    # Marked used: the once-a-minute last_used_at update would otherwise land in the in-process query counts.
    ApiToken.objects.filter(pk__in=[token.pk for token, _ in made]).update(last_used_at=timezone.now())
    return [key for _, key in made]


def writers(slug: str, rng: random.Random) -> tuple[list[Endpoint], Votes]:
    """The three timed writes on topic `slug`, with the accounts and targets they need."""
    from django.contrib.auth import get_user_model

    from discussions.models import Position, Reply, Stance, Thread

    User = get_user_model()
    voters = [User.objects.get_or_create(username=f"bench-voter-{i}")[0] for i in range(VOTERS)]
    visible = Reply.objects.filter(topic__slug=slug, state=Reply.State.VISIBLE)
    # A --reuse run skips the replies an earlier run's voters already voted on.
    targets = list(visible.exclude(votes__user__username__startswith="bench-voter-").values_list("pk", flat=True))
    rng.shuffle(targets)
    votes = Votes(_tokens(voters), targets)

    stances = list(Stance.objects.filter(topic__slug=slug).order_by("position", "id").values_list("slug", flat=True))
    threads = list(Thread.objects.filter(topic__slug=slug, is_locked=False).order_by("id").values_list("pk", flat=True))
    author_ids = visible.order_by("author_id").values_list("author_id", flat=True).distinct()[:AUTHORS]
    posts = ReplyPosts(_tokens(User.objects.filter(pk__in=list(author_ids)).order_by("pk")), threads, stances[0])

    held = Position.objects.filter(topic__slug=slug, until=None).exclude(user_id__in=list(author_ids))
    held = list(held.order_by("user_id").values_list("user_id", "stance__slug")[:MOVERS])
    users = User.objects.in_bulk([user_id for user_id, _ in held])
    tokens = _tokens(users[user_id] for user_id, _ in held)
    # Each starts with the stance after the one held: a change from the first PUT on.
    movers = [(token, stances.index(stance) + 1) for token, (_, stance) in zip(tokens, held, strict=True)]
    changes = PositionChanges(movers, slug, stances)
    if not (threads and len(movers) >= 16 and len(stances) >= 2):
        raise SystemExit(f"bench: topic {slug} needs unlocked threads, two stances and 16 users holding a position")

    endpoints = [
        Endpoint("vote POST", "large", votes.next, kind="write", floor_target=1.3),
        Endpoint("reply create POST", "large", posts.next, status=201, kind="write", floor_target=2.0),
        Endpoint("position change PUT", "large", changes.next, kind="write", floor_target=1.5),
    ]
    return endpoints, votes
