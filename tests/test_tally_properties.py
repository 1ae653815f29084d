"""Property: whatever sequence of writes the services take, the maintained summaries equal a recount.

Hypothesis draws a list of operations (post a thread, post a reply with a random stance and sometimes a
parent, withdraw, edit a reply's stance, cast or flip a vote, retract one, declare or change a position
with or without persuaded_by, and a moderator hiding and restoring replies) by five users on two topics
that share stance slugs: the main topic has 2 or 3 stances, the rival always has all three in reverse
order, so a slug resolved against the wrong topic lands on a different stance. The operations go through
discussions.services; refused ones (any forum.errors.DomainError: invalid, not allowed, not found,
conflict) are part of the game and the run goes on.

After the sequence the topic and thread summaries, each reply's counters and the topic/thread counters
are compared with a recount written here in plain Python over the raw Reply, Vote, Position and Stance
rows. The recount ignores every maintained column and reuses neither discussions.audit nor the
selectors; discussions.audit.tallies_audit() must also come back empty, as a second, independent check.
Each vote also checks the voter stance it recorded, and that only votes on hidden or withdrawn replies
are refused.

Each example runs in its own atomic block (a savepoint in the test's transaction) that is rolled back,
so examples cannot leak rows into each other.

Reproducibility: derandomize=True and database=None, so every run (locally and in CI) explores the same
examples and nothing depends on a local .hypothesis directory. A failure is shrunk (the operations it
does not need become ("skip",)) and reported with a note listing the operations that remain.
Passing takes well under a minute; shrinking a failure can take Hypothesis up to five more minutes,
hence the longer timeout on the test.
"""

import contextlib
from collections import Counter, defaultdict

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from discussions import audit, selectors, services
from discussions.models import Position, Reply, Stance, Thread, Topic, Vote
from discussions.ranking import wilson_lower_bound
from forum.errors import DomainError
from tests.support.factories import ModeratorFactory

pytestmark = pytest.mark.django_db

MAIN, RIVAL = "tally-main", "tally-rival"
SLUGS = ("pro-tester", "pro-openai", "undecided")
USERS = 5
TOP = 5
REFUSED = (DomainError,)

# --- the operations ----------------------------------------------------------------------------------

indices = st.integers(0, 63)  # taken modulo the length of the list they pick from
users = st.integers(0, USERS - 1)
slugs = st.sampled_from(SLUGS)
topics = st.sampled_from([MAIN, MAIN, RIVAL])  # the main topic gets most of the traffic
values = st.sampled_from([1, -1])
# A reply: mostly one that is visible now, sometimes any reply ever posted (withdrawn ones included).
targets = st.tuples(st.sampled_from(["visible", "visible", "visible", "visible", "any"]), indices)
# None: the reply's author does it; a number: that user does, author or not.
actors = st.one_of(st.none(), users)
parents = st.one_of(st.none(), st.tuples(st.sampled_from(["same-thread", "same-thread", "anywhere"]), indices))

OPERATIONS = {
    # Rarely drawn: it is there so the shrinker can turn every operation a failure does not need into it.
    "skip": st.just(("skip",)),
    "thread": st.tuples(st.just("thread"), users, topics, slugs),
    "reply": st.tuples(st.just("reply"), users, indices, slugs, parents),
    "withdraw": st.tuples(st.just("withdraw"), targets, actors),
    "edit": st.tuples(st.just("edit"), targets, slugs, actors),
    "vote": st.tuples(st.just("vote"), users, targets, values),
    "flip": st.tuples(st.just("flip"), indices),  # the other value on a vote cast earlier (even if retracted)
    "unvote": st.tuples(st.just("unvote"), indices),  # retract a vote cast earlier
    "retract": st.tuples(st.just("retract"), users, targets),  # whatever (maybe nothing) the user has there
    "position": st.tuples(st.just("position"), users, topics, slugs, st.one_of(st.none(), targets)),
    "hide": st.tuples(st.just("hide"), targets),  # by a moderator
    "restore": st.tuples(st.just("restore"), indices),  # a hidden reply, by a moderator
}
# How often each kind is drawn; st.one_of would drop repeated branches, so the weights go through
# sampled_from, whose first element ("skip") is where the shrinker takes every operation it can.
WEIGHTS = {
    "skip": 1,
    "reply": 5,
    "vote": 8,
    "flip": 1,
    "unvote": 1,
    "retract": 1,
    "thread": 1,
    "withdraw": 1,
    "edit": 1,
    "position": 2,
    "hide": 1,
    "restore": 1,
}
kinds = st.sampled_from([kind for kind, n in WEIGHTS.items() for _ in range(n)])
operations = kinds.flatmap(OPERATIONS.__getitem__)
# Every sequence opens with a thread in the main topic, with one of the stances it always has. At least
# 20 operations follow (the shrinker cannot drop below that, it turns the extra ones into skips).
sequences = st.builds(
    lambda first, rest: [first, *rest],
    st.tuples(st.just("thread"), users, st.just(MAIN), st.sampled_from(SLUGS[:2])),
    st.lists(operations, min_size=20, max_size=36),
)

HYPOTHESIS_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    report_multiple_bugs=False,  # one shrunk failure is enough, and shrinking two takes twice as long
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- the recount: plain Python over raw rows --------------------------------------------------------


class Raw:
    """Every raw row that matters, loaded once and counted in Python (no maintained column is read)."""

    def __init__(self):
        self.topics = {t["id"]: t for t in Topic.objects.values("id", "slug")}
        self.stances = defaultdict(list)  # topic id -> its stances in the topic's order
        self.slug_of = {}
        for s in Stance.objects.values("id", "topic_id", "slug", "label", "position"):
            self.stances[s["topic_id"]].append(s)
            self.slug_of[s["id"]] = s["slug"]
        for rows in self.stances.values():
            rows.sort(key=lambda s: (s["position"], s["id"]))
        self.threads = {t["id"]: t for t in Thread.objects.values("id", "topic_id")}
        self.replies = list(
            Reply.objects.values("id", "topic_id", "thread_id", "author_id", "stance_id", "state", "created_at")
        )
        self.votes = list(Vote.objects.values("id", "user_id", "reply_id", "value", "voter_stance_id", "retracted_at"))
        self.positions = list(
            Position.objects.values("id", "user_id", "topic_id", "stance_id", "persuaded_by_id", "since", "until")
        )

        self.up, self.down = Counter(), Counter()
        self.by_stance = defaultdict(lambda: defaultdict(lambda: {"up": 0, "down": 0}))
        for v in self.votes:
            if v["retracted_at"] is not None:
                continue
            (self.up if v["value"] == 1 else self.down)[v["reply_id"]] += 1
            if v["voter_stance_id"] is not None:
                entry = self.by_stance[v["reply_id"]][self.slug_of[v["voter_stance_id"]]]
                entry["up" if v["value"] == 1 else "down"] += 1
        self.persuaded = Counter(p["persuaded_by_id"] for p in self.positions if p["persuaded_by_id"] is not None)

        history = defaultdict(list)
        for p in self.positions:
            history[(p["topic_id"], p["user_id"])].append(p)
        # The current position is the latest declaration; the "until is null" marker must agree.
        self.current = {key: max(rows, key=lambda p: (p["since"], p["id"])) for key, rows in history.items()}
        self.shifts = Counter()
        for (topic_id, _), rows in history.items():
            self.shifts[topic_id] += len(rows) - 1
        open_rows = sorted(p["id"] for p in self.positions if p["until"] is None)
        assert open_rows == sorted(p["id"] for p in self.current.values()), "open positions != latest declarations"

    def visible(self, *, topic_id, thread_id=None):
        # The reply's topic is taken from its thread, not from the denormalised column.
        return [
            r
            for r in self.replies
            if r["state"] == "visible"
            and self.threads[r["thread_id"]]["topic_id"] == topic_id
            and (thread_id is None or r["thread_id"] == thread_id)
        ]

    def summary(self, *, topic_id, thread_id=None) -> dict:
        """The stance summary of a topic (thread_id None) or of one thread, with reply ids for replies."""
        visible = self.visible(topic_id=topic_id, thread_id=thread_id)
        rows, top = [], {}
        for s in self.stances[topic_id]:
            mine = [r for r in visible if r["stance_id"] == s["id"]]
            up = sum(self.up[r["id"]] for r in mine)
            down = sum(self.down[r["id"]] for r in mine)
            row = {
                "stance": s["slug"],
                "label": s["label"],
                "replies": len(mine),
                "participants": len({r["author_id"] for r in mine}),
                "upvotes": up,
                "downvotes": down,
                "score": up - down,
            }
            if thread_id is None:
                row["positions"] = sum(
                    1 for (t, _), p in self.current.items() if t == topic_id and p["stance_id"] == s["id"]
                )
            rows.append(row)
            best = sorted(
                mine, key=lambda r: (wilson_lower_bound(self.up[r["id"]], self.down[r["id"]]), r["id"]), reverse=True
            )
            top[s["slug"]] = [r["id"] for r in best[:TOP]]
        total_replies = len(visible)
        total_up = sum(self.up[r["id"]] for r in visible)
        for row in rows:
            row["reply_share"] = pytest.approx(row["replies"] / total_replies if total_replies else 0.0)
            row["vote_share"] = pytest.approx(row["upvotes"] / total_up if total_up else 0.0)
        scores = [row["score"] for row in rows]
        leaders = [row["stance"] for row in rows if row["score"] == max(scores)]
        expected = {
            "topic": self.topics[topic_id]["slug"],
            "replies": total_replies,
            "participants": len({r["author_id"] for r in visible}),
            "votes": sum(self.up[r["id"]] + self.down[r["id"]] for r in visible),
            "stances": rows,
            "leading": leaders[0] if len(leaders) == 1 and any(scores) else None,
            "top_replies": top,
        }
        if thread_id is None:
            expected["shifts"] = self.shifts[topic_id]
            named = sorted(
                (r for r in visible if self.persuaded[r["id"]] > 0),
                key=lambda r: (self.persuaded[r["id"]], r["id"]),
                reverse=True,
            )
            expected["persuasive"] = [r["id"] for r in named[:TOP]]
        else:
            expected["thread"] = thread_id
        return expected


def _as_ids(summary: dict) -> dict:
    shown = dict(summary)
    shown["top_replies"] = {slug: [r.pk for r in replies] for slug, replies in summary["top_replies"].items()}
    if "persuasive" in shown:
        shown["persuasive"] = [r.pk for r in summary["persuasive"]]
    return shown


# --- applying the operations --------------------------------------------------------------------------


class Debate:
    """Five users, the two topics, and what has been posted and voted so far (ids in posting order)."""

    def __init__(self, n_stances: int):
        self.users = [get_user_model().objects.create(username=f"debater{i}") for i in range(USERS)]
        self.moderator = ModeratorFactory(username="moderator")
        main = [{"slug": s, "label": f"main {s}"} for s in SLUGS[:n_stances]]
        rival = [{"slug": s, "label": f"rival {s}"} for s in reversed(SLUGS)]
        services.topic_create(actor=None, slug=MAIN, title="Main", question="Who is right?", stances=main)
        services.topic_create(actor=None, slug=RIVAL, title="Rival", question="Who is right?", stances=rival)
        self.thread_ids: list[int] = []
        self.reply_ids: list[int] = []
        self.vote_keys: list[tuple[int, int]] = []  # (user index, reply id) of every vote ever cast

    def apply(self, op: tuple) -> None:
        kind, *args = op
        with contextlib.suppress(*REFUSED):
            getattr(self, kind)(*args)

    def _target(self, target) -> Reply:
        pool, index = target
        ids = self.reply_ids  # never empty: every sequence opens a thread first
        if pool == "visible":
            ids = list(Reply.objects.filter(state="visible").order_by("id").values_list("id", flat=True)) or ids
        return Reply.objects.get(pk=ids[index % len(ids)])

    def _actor(self, who, reply: Reply):
        return reply.author if who is None else self.users[who]

    def skip(self):
        pass

    def thread(self, user, topic, stance):
        thread = services.thread_create(
            actor=self.users[user], topic_slug=topic, title="A thread", body="Opening.", stance_slug=stance
        )
        self.thread_ids.append(thread.pk)
        self.reply_ids.append(thread.opening_reply_id)

    def reply(self, user, thread, stance, parent):
        thread_id = self.thread_ids[thread % len(self.thread_ids)]
        parent_id = None
        if parent is not None:
            where, index = parent
            pool = self.reply_ids
            if where == "same-thread":
                pool = list(Reply.objects.filter(thread_id=thread_id).order_by("id").values_list("id", flat=True))
            parent_id = pool[index % len(pool)]
        reply = services.reply_create(
            actor=self.users[user], thread_id=thread_id, body="A reply.", stance_slug=stance, parent_id=parent_id
        )
        self.reply_ids.append(reply.pk)

    def withdraw(self, target, who):
        reply = self._target(target)
        services.reply_withdraw(actor=self._actor(who, reply), reply_id=reply.pk)

    def edit(self, target, stance, who):
        reply = self._target(target)
        services.reply_update(actor=self._actor(who, reply), reply_id=reply.pk, stance_slug=stance)

    def hide(self, target):
        services.reply_hide(actor=self.moderator, reply_id=self._target(target).pk, reason="Off topic.")

    def restore(self, which):
        hidden = list(Reply.objects.filter(state="hidden").order_by("id").values_list("id", flat=True))
        if hidden:
            services.reply_restore(actor=self.moderator, reply_id=hidden[which % len(hidden)])

    def _cast(self, user: int, reply_id: int, value: int) -> None:
        actor = self.users[user]
        before = Vote.objects.filter(user=actor, reply_id=reply_id).first()
        expected_stance = self._voter_stance(actor, Reply.objects.get(pk=reply_id).thread.topic_id)
        try:
            services.vote_cast(actor=actor, reply_id=reply_id, value=value)
        except REFUSED:
            assert Reply.objects.get(pk=reply_id).state != "visible", "a vote on a visible reply was refused"
            raise
        self.vote_keys.append((user, reply_id))
        after = Vote.objects.get(user=actor, reply_id=reply_id)
        assert (after.value, after.retracted_at) == (value, None)
        if before is not None and before.retracted_at is None and before.value == value:
            # The same vote again changes nothing, not even the stance it was recorded under.
            assert (after.voter_stance_id, after.cast_at) == (before.voter_stance_id, before.cast_at)
        else:
            assert after.voter_stance_id == expected_stance, "the vote recorded the wrong voter stance"

    @staticmethod
    def _voter_stance(user, topic_id):
        """What a vote cast now must record: the declared position, else the latest visible reply's stance."""
        declared = list(Position.objects.filter(user=user, topic_id=topic_id).values_list("since", "id", "stance_id"))
        if declared:
            return max(declared)[2]
        own = Reply.objects.filter(author=user, thread__topic_id=topic_id, state="visible")
        latest = max(own.values_list("created_at", "id", "stance_id"), default=None)
        return latest and latest[2]

    def vote(self, user, target, value):
        self._cast(user, self._target(target).pk, value)

    def flip(self, which):
        if self.vote_keys:
            user, reply_id = self.vote_keys[which % len(self.vote_keys)]
            self._cast(user, reply_id, -Vote.objects.get(user=self.users[user], reply_id=reply_id).value)

    def _retract(self, user: int, reply_id: int) -> None:
        try:
            services.vote_retract(actor=self.users[user], reply_id=reply_id)
        except REFUSED:
            assert Reply.objects.get(pk=reply_id).state != "visible", "a retraction on a visible reply was refused"
            raise
        assert not Vote.objects.filter(user=self.users[user], reply_id=reply_id, retracted_at=None).exists()

    def retract(self, user, target):
        self._retract(user, self._target(target).pk)

    def unvote(self, which):
        if self.vote_keys:
            self._retract(*self.vote_keys[which % len(self.vote_keys)])

    def position(self, user, topic, stance, persuaded_by):
        reply = self._target(persuaded_by) if persuaded_by is not None else None
        services.position_set(
            actor=self.users[user], topic_slug=topic, stance_slug=stance, persuaded_by_id=reply and reply.pk
        )


def check_against_recount() -> None:
    """Every maintained number a client can read equals the recount of the raw rows."""
    raw = Raw()
    for slug in (MAIN, RIVAL):
        topic = Topic.objects.get(slug=slug)
        summary, _ = selectors.topic_summary(topic=selectors.topic_get(slug=slug))
        assert _as_ids(summary) == raw.summary(topic_id=topic.pk), f"topic summary of {slug}"

        visible = raw.visible(topic_id=topic.pk)
        own_threads = [t for t in raw.threads.values() if t["topic_id"] == topic.pk]
        assert (topic.thread_count, topic.reply_count, topic.participant_count, topic.shift_count) == (
            len(own_threads),
            len(visible),
            len({r["author_id"] for r in visible}),
            raw.shifts[topic.pk],
        ), f"counters of topic {slug}"

        for t in own_threads:
            thread = selectors.thread_for_summary(pk=t["id"])
            summary, _ = selectors.thread_summary(thread=thread)
            assert _as_ids(summary) == raw.summary(topic_id=topic.pk, thread_id=thread.pk), f"thread {thread.pk}"
            in_thread = raw.visible(topic_id=topic.pk, thread_id=thread.pk)
            assert (thread.reply_count, thread.participant_count) == (
                len(in_thread),
                len({r["author_id"] for r in in_thread}),
            ), f"counters of thread {thread.pk}"

    fields = ("upvotes", "downvotes", "score", "wilson", "votes_by_stance", "persuaded_count")
    for r in Reply.objects.values("id", "topic_id", "thread_id", *fields):
        up, down = raw.up[r["id"]], raw.down[r["id"]]
        assert r["topic_id"] == raw.threads[r["thread_id"]]["topic_id"], f"reply {r['id']}: topic"
        assert (r["upvotes"], r["downvotes"], r["score"]) == (up, down, up - down), f"reply {r['id']}: votes"
        assert r["wilson"] == pytest.approx(wilson_lower_bound(up, down)), f"reply {r['id']}: wilson"
        nonzero = {k: v for k, v in r["votes_by_stance"].items() if v.get("up") or v.get("down")}
        assert nonzero == {k: dict(v) for k, v in raw.by_stance[r["id"]].items()}, f"reply {r['id']}: by stance"
        assert r["persuaded_count"] == raw.persuaded[r["id"]], f"reply {r['id']}: persuaded_count"

    assert audit.tallies_audit() == []


def run(n_stances: int, ops: list[tuple]) -> None:
    """Apply the operations to a fresh debate, check it against the recount, and roll it all back."""
    # A bare savepoint, not an atomic block: the services open durable transactions, which may sit inside
    # the test's own transaction but not inside another atomic block.
    savepoint = transaction.savepoint()
    try:
        debate = Debate(n_stances)
        for op in ops:
            debate.apply(op)
        check_against_recount()
    finally:
        transaction.savepoint_rollback(savepoint)  # this example's rows go, whatever happened


@pytest.mark.timeout(900)  # a pass takes well under a minute, shrinking a failure up to five more
@HYPOTHESIS_SETTINGS
@given(n_stances=st.sampled_from([2, 3]), ops=sequences)
def test_maintained_tallies_always_equal_a_recount_from_the_raw_rows(n_stances, ops):
    note(f"the operations that are not skips: {[op for op in ops if op != ('skip',)]}")
    run(n_stances, ops)
