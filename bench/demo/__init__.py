"""The one demo-data generator: a realistic debate between pro-tester and pro-openai, planned from a seed and
bulk-inserted.

Development tooling, kept out of the apps: `manage.py seed_demo` (its entry point) and the benchmarks
(bench/summary.py directly, bench/live.py through seed_demo) import it; nothing else in discussions/ or
forum/ does. planning.py decides a whole debate in memory from one random.Random; writing.py inserts it,
every counter included, through loading.py (COPY on PostgreSQL). seed_topic() is both for one topic.
Callers then run tallies_audit(fix=True), which should find nothing to repair.
"""

import datetime
import random
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from bench.demo import planning, writing
from discussions import seed_content, services
from discussions.models import Stance, Topic


class Refused(ValueError):
    """A size or topic the generator cannot honour; raised before anything is written."""


@dataclass
class Seeded:
    topic: Topic
    created: bool  # the topic is new, rather than extended
    start: datetime.datetime  # when the new activity begins
    # What the plan held, counted: the plan itself is let go once written (it is hundreds of MB at 5M votes).
    withdrawn: int  # replies withdrawn
    retracted: int  # votes retracted
    positions: int
    changes: int  # positions that are changes of mind
    planning: float  # seconds spent planning (topic lookups included)
    inserting: float  # seconds spent inserting


def day(value: str) -> datetime.datetime:
    """Midnight UTC of a YYYY-MM-DD date."""
    return datetime.datetime.combine(datetime.date.fromisoformat(value), datetime.time(), datetime.UTC)


def written_tables() -> list[str]:
    """The tables seed_topic writes to: what needs ANALYZE after it."""
    return [model._meta.db_table for model in (get_user_model(), Topic, Stance, *writing.WRITTEN)]


def topic_stances(topic: Topic) -> list[Stance]:
    """The topic's stances in the generator's order (pro-tester, pro-openai); any other set is refused."""
    stances = {s.slug: s for s in Stance.objects.filter(topic=topic)}
    if sorted(stances) != sorted(planning.STANCES):
        raise Refused(
            f"Topic '{topic.slug}' has the stances {sorted(stances)}; seed_demo writes debates between "
            f"{' and '.join(planning.STANCES)} only. Choose another --topic."
        )
    return [stances[slug] for slug in planning.STANCES]


def seed_topic(
    slug: str,
    *,
    users: int,
    threads: int,
    replies: int,
    votes: int,
    seed: int,
    start: datetime.datetime,
    days: int,
    bar=writing.NoBar,
) -> Seeded:
    """Create topic `slug` with this much activity, or add it to the topic if it exists; the same seed and
    sizes give the same rows on a fresh topic. `bar(label, total)` makes a progress bar as tqdm does.

    Counts are what this call adds: `replies` includes each thread's opening post and the withdrawn
    replies, `votes` the retracted votes. An existing topic goes on from the day after its last activity
    when that is later than `start`.
    """
    began = time.perf_counter()
    if min(users, threads, replies, votes) < 0 or days < 1:
        raise Refused("Counts must be 0 or more and --days at least 1.")
    if replies < threads or (replies and not threads):
        raise Refused("--replies counts the opening posts: at least --threads (new replies go in new threads).")
    topic = Topic.objects.filter(slug=slug).first()
    stances, existing = [], planning.Existing()
    if topic is not None:
        stances = topic_stances(topic)
        latest = planning.latest_activity(topic)
        if latest is not None:
            start = max(start, day(latest.astimezone(datetime.UTC).date().isoformat()) + datetime.timedelta(days=1))
        existing = planning.load_existing(topic, stances, start)
    if (threads or votes) and not (existing.users or users):
        raise Refused("Nobody to post or vote: pass --users.")
    try:
        plan = planning.plan(
            random.Random(seed),
            users=users,
            threads=threads,
            replies=replies,
            votes=votes,
            existing=existing,
            span=days * planning.DAY,
        )
    except ValueError as exc:
        raise Refused(f"{exc} Pass more --users or fewer --votes.") from None
    planned = time.perf_counter()

    created = topic is None
    if created:
        # Through the service, as any topic is created. It is a durable transaction of its own, so it runs
        # here, before (never inside) the transactions writing.write opens.
        topic = services.topic_create(
            actor=None,
            slug=slug,
            title=f"Demo: {seed_content.TOPIC['title']}",
            question=seed_content.TOPIC["question"],
            stances=seed_content.STANCES,
        )
        Topic.objects.filter(pk=topic.pk).update(created_at=start)
        stances = topic_stances(topic)
    writing.write(plan, existing, topic=topic, stances=stances, start=start, bar=bar)
    return Seeded(
        topic,
        created,
        start,
        withdrawn=plan.withdrawn(),
        retracted=plan.retracted(),
        positions=len(plan.positions),
        changes=sum(p.changed for p in plan.positions),
        planning=planned - began,
        inserting=time.perf_counter() - planned,
    )
