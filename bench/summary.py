"""Time the stance summary endpoints on a ~1k-vote topic and a ~1M-vote topic, in one run.

Run from the repository root: `.venv/bin/python -m bench.summary [--large-votes 100000]`. It seeds its own
database (a fresh var/bench.sqlite3, or BENCH_DATABASE_URL) and never touches the developer's data.
"""

import argparse
import contextlib
import datetime
import functools
import math
import os
import platform
import random
import resource
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = f"sqlite:///{BASE_DIR / 'var' / 'bench.sqlite3'}"
BATCH = 10_000
DAYS = 120
STANCES = [("for", "For", 0.45), ("against", "Against", 0.40), ("depends", "It depends", 0.15)]
LOREM = (
    "The leak shows what early access really costs: unpaid labour dressed up as privilege, and a company that "
    "decided the goodwill of artists was a line item. Yet the testers signed terms, knew the rules, and chose a "
    "stunt over a conversation. Both can be true at once, and the question is which failure matters more for the "
    "next programme, the next tester, the next model that needs people outside the lab to tell it the truth. "
) * 2


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.summary", description=__doc__.splitlines()[0])
    parser.add_argument("--small-votes", type=int, default=1_000, help="votes in the small topic (default 1,000)")
    parser.add_argument("--large-votes", type=int, default=1_000_000, help="votes in the large topic (default 1M)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per endpoint (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests first (default 5)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the generated data")
    parser.add_argument("--no-analyze", action="store_true", help="skip ANALYZE after loading")
    return parser.parse_args(argv)


# --- A database of its own ------------------------------------------------------------------------


def bench_database(url: str) -> dict:
    """The parsed BENCH_DATABASE_URL, refused unless the database's name contains 'bench'."""
    from django.core.exceptions import ImproperlyConfigured

    from config.env import env_database  # plain parsing, no Django settings involved

    try:
        config = env_database("BENCH_DATABASE_URL", url)
    except ImproperlyConfigured as exc:
        sys.exit(f"bench: {exc}")
    # A guard, since a run empties it or writes into it: a mistyped URL must not touch a real database.
    if "bench" not in Path(config["NAME"]).name:
        sys.exit(f"bench: refusing to use {config['NAME']!r}; the database name must contain 'bench'.")
    return config


def fresh_database(url: str) -> None:
    """Empty the bench database: delete the SQLite file, or drop and create the PostgreSQL database."""
    config = bench_database(url)
    name = config["NAME"]
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
        return
    import psycopg
    from psycopg import sql

    params = {"dbname": "postgres", "user": config.get("USER") or None, "password": config.get("PASSWORD") or None}
    params |= {"host": config.get("HOST") or None, "port": config.get("PORT") or None}
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DATABASE_URL"] = url
    # DEBUG off: with it on, every query is logged in memory and the timings include that.
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ["ALLOWED_HOSTS"] = "testserver"  # the host django.test.Client sends
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


# --- Seeding --------------------------------------------------------------------------------------


@dataclass
class Shape:
    votes: int
    replies: int
    users: int
    threads: int

    @classmethod
    def for_votes(cls, votes: int) -> "Shape":
        # About 50 votes per reply, 200 per user and 20 replies per thread: 1M votes → 20k replies, 5k users.
        replies = max(100, votes // 50)
        return cls(votes=votes, replies=replies, users=max(100, votes // 200), threads=max(5, replies // 20))


def progress(label: str, done: int, total: int) -> None:
    # One line rewritten in place on a terminal; only the final count when the output goes to a file.
    if sys.stdout.isatty():
        print(f"\r  {label}: {done:,}/{total:,}", end="" if done < total else "\n", flush=True)
    elif done >= total:
        print(f"  {label}: {done:,}")


def insert(model, objs: list, label: str | None = None) -> list:
    """discussions.demo.insert in batches of BATCH, printing progress under `label`; pks come back set."""
    from discussions import demo

    return demo.insert(model, objs, batch_size=BATCH, progress=functools.partial(progress, label) if label else None)


def vote_counts(rng: random.Random, replies: int, votes: int, cap: int) -> list[int]:
    """Votes per reply: skewed (a few replies draw most votes), summing to `votes`, none above `cap` voters."""
    from discussions import demo

    if votes > replies * cap:
        sys.exit(f"bench: {votes:,} votes do not fit {replies:,} replies × {cap:,} users (one vote per pair).")
    return demo.vote_counts(rng, replies, votes, [cap] * replies)


def seed_topic(slug: str, shape: Shape, users: list, rng: random.Random, end: datetime.datetime) -> dict:
    """Insert one topic's raw rows (threads, replies, votes, positions); counters are left at zero."""
    from discussions import demo
    from discussions.models import Position, Reply, Stance, Thread, Topic, Vote
    from discussions.selectors import TOP_REPLIES_PER_STANCE as FULL_PAGE

    start = end - datetime.timedelta(days=DAYS)
    topic = Topic.objects.create(slug=slug, title=f"Bench topic {slug}", question="Who is at fault?", created_at=start)
    stances = Stance.objects.bulk_create(
        [Stance(topic=topic, slug=s, label=label, position=i) for i, (s, label, _) in enumerate(STANCES)]
    )
    empty_votes = {s.slug: {"up": 0, "down": 0} for s in stances}
    pool = users[: shape.users]
    # Each user's side in this topic (declared or by their replies); some have none and vote without one.
    sides = [rng.choices(stances, [w for *_, w in STANCES])[0] if rng.random() < 0.85 else None for _ in pool]

    # One big thread (a tenth of the replies) for the thread summary; every other thread has at least one.
    big = max(3 * FULL_PAGE * len(STANCES), shape.replies // 10)
    per_thread = [big] + [1] * (shape.threads - 1)
    for _ in range(shape.replies - sum(per_thread)):
        per_thread[rng.randrange(1, shape.threads)] += 1

    threads, reply_specs = [], []
    for t, count in enumerate(per_thread):
        opened = start + datetime.timedelta(seconds=rng.uniform(0, (DAYS - 20) * 86400))
        authors = [rng.randrange(len(pool)) for _ in range(count)]
        times = sorted(opened + datetime.timedelta(seconds=rng.uniform(1, 20 * 86400)) for _ in range(count - 1))
        thread = Thread(topic=topic, author=pool[authors[0]], title=f"Thread {t}", created_at=opened)
        thread.last_activity_at = opened
        threads.append(thread)
        for i, (author, at) in enumerate(zip(authors, [opened, *times], strict=True)):
            side = sides[author]
            stance = side if side is not None and rng.random() < 0.85 else rng.choice(stances)
            # The opening reply stays visible; elsewhere a few are withdrawn or hidden.
            roll = rng.random() if i else 1.0
            if t == 0 and i < FULL_PAGE * len(stances):
                # Five visible replies of every stance in the big thread: each summary then lists full pages
                # whatever the size, so the small/large comparison is about data size, not payload.
                stance, roll = stances[i % len(stances)], 1.0
            state = "withdrawn" if roll < 0.02 else "hidden" if roll < 0.03 else "visible"
            reply_specs.append((t, author, stance, at, state))
    threads = insert(Thread, threads)
    replies = insert(
        Reply,
        [
            Reply(
                topic=topic,
                thread=threads[t],
                author=pool[author],
                stance=stance,
                body=LOREM[: rng.randint(80, 600)],
                state=state,
                created_at=at,
                withdrawn_at=at + datetime.timedelta(hours=1) if state == "withdrawn" else None,
                hidden_at=at + datetime.timedelta(hours=3) if state == "hidden" else None,
                hidden_reason="Off topic." if state == "hidden" else "",
                votes_by_stance=empty_votes,
            )
            for t, author, stance, at, state in reply_specs
        ],
        label=f"{slug} replies",
    )
    demo.link_threads(Thread.objects.filter(topic=topic))

    # One vote per (user, reply): each reply's voters are a sample without replacement from the pool.
    counts = vote_counts(rng, len(replies), shape.votes, len(pool))
    batch, done = [], 0
    voters_range = range(len(pool))
    for reply, spec, count in zip(replies, reply_specs, counts, strict=True):
        at = spec[3]
        for voter in rng.sample(voters_range, count):
            side = sides[voter]
            agrees = side is not None and side.pk == reply.stance_id
            cast = min(end, at + datetime.timedelta(hours=rng.expovariate(1 / 48)))
            batch.append(
                # Ids rather than instances: the related-object descriptors cost a fifth of the load.
                Vote(
                    user_id=pool[voter].pk,
                    reply_id=reply.pk,
                    value=1 if rng.random() < (0.7 if agrees else 0.35) else -1,
                    voter_stance_id=side.pk if side is not None else None,
                    created_at=cast,
                    cast_at=cast,
                    retracted_at=cast + datetime.timedelta(hours=2) if rng.random() < 0.02 else None,
                )
            )
        if len(batch) >= BATCH:
            Vote.objects.bulk_create(batch)
            done += len(batch)
            progress(f"{slug} votes", done, shape.votes)
            batch = []
    if batch:
        Vote.objects.bulk_create(batch)
        progress(f"{slug} votes", done + len(batch), shape.votes)

    # A tenth of the sided users declared a position; a quarter of those switched, some persuaded by a reply.
    # The first switchers are forced until five replies persuaded someone: a full "persuasive" list, as above.
    visible_by_stance = {s.pk: [r for r in replies if r.stance_id == s.pk and r.state == "visible"] for s in stances}
    positions, persuaders = [], set()
    for user, side in zip(pool, sides, strict=True):
        forced = len(persuaders) < FULL_PAGE
        if side is None or (rng.random() >= 0.10 and not forced):
            continue
        since = start + datetime.timedelta(seconds=rng.uniform(0, DAYS * 86400))
        if rng.random() < 0.25 or forced:
            earlier = rng.choice([s for s in stances if s.pk != side.pk])
            before = since - datetime.timedelta(days=rng.uniform(0, 10))
            positions.append(Position(user=user, topic=topic, stance=earlier, since=before, until=since))
            candidates = [r for r in visible_by_stance[side.pk] if not forced or r.pk not in persuaders]
            persuaded = rng.choice(candidates) if candidates and (forced or rng.random() < 0.5) else None
            if persuaded is not None:
                persuaders.add(persuaded.pk)
            positions.append(Position(user=user, topic=topic, stance=side, since=since, persuaded_by=persuaded))
        else:
            positions.append(Position(user=user, topic=topic, stance=side, since=since))
    insert(Position, positions)
    return {"topic": topic, "big_thread": threads[0], "shape": shape}


def seed(args) -> tuple[list[dict], dict]:
    """Both topics and the shared users in one transaction; then the audit rebuilds every counter."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from discussions import demo
    from discussions.audit import tallies_audit

    rng = random.Random(args.seed)
    # Midnight UTC: the same seed gives the same rows all day, daily roll-ups included.
    end = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    shapes = {"small": Shape.for_votes(args.small_votes), "large": Shape.for_votes(args.large_votes)}
    timings = {}
    User = get_user_model()
    with transaction.atomic():
        began = time.perf_counter()
        n_users = max(s.users for s in shapes.values())
        # An unusable password: the accounts exist only to own rows.
        users = insert(User, [User(username=f"bench-{i:06d}", password=demo.UNUSABLE_PASSWORD) for i in range(n_users)])
        topics = []
        for name, shape in shapes.items():
            began_topic = time.perf_counter()
            topics.append({"name": name, **seed_topic(f"bench-{name}", shape, users, rng, end)})
            timings[f"seed {name}"] = time.perf_counter() - began_topic
        timings["seed total"] = time.perf_counter() - began

    began, rss_before = time.perf_counter(), peak_rss_mb()
    # The supported way to bring counters right after a bulk load: what `verify_tallies --fix` runs.
    fixes = tallies_audit(fix=True)
    timings["audit fix"] = time.perf_counter() - began
    timings["audit fix mismatches"] = len(fixes)
    timings["rss before audit"], timings["rss after audit"] = rss_before, peak_rss_mb()
    began = time.perf_counter()
    left = tallies_audit()
    timings["audit check"] = time.perf_counter() - began
    if left:
        print("\n".join(left[:20]))
        sys.exit(f"bench: {len(left)} counters still wrong after tallies_audit(fix=True).")
    return topics, timings


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- Timing ---------------------------------------------------------------------------------------


def percentile_ms(seconds: list[float], p: float) -> float:
    """The nearest-rank p-th percentile of timings in seconds, in milliseconds."""
    ordered = sorted(seconds)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)] * 1000


@dataclass
class Measure:
    label: str
    url: str
    times: list
    queries: int = 0
    votes: int = 0
    replies: int = 0
    listed: int = 0

    def percentile(self, p: float) -> float:
        return percentile_ms(self.times, p)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times) * 1000


def get(client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        sys.exit(f"bench: GET {url} answered {response.status_code}: {response.content[:300]!r}")
    return response


def measure(pairs: list[tuple[str, str]], warmup: int, requests: int) -> list[Measure]:
    """Warm up, count queries once, then time every URL in turn so drift hits them all alike."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    results = [Measure(label, url, []) for label, url in pairs]
    for result in results:
        for _ in range(warmup):
            get(client, result.url)
        # Counted on an untimed request: capturing forces the debug cursor, which would slow the timed ones.
        with CaptureQueriesContext(connection) as captured:
            body = get(client, result.url).json()
        result.queries, result.votes, result.replies = len(captured), body["votes"], body["replies"]
        result.listed = sum(map(len, body["top_replies"].values())) + len(body.get("persuasive", []))
    for _ in range(requests):
        for result in results:
            began = time.perf_counter()
            get(client, result.url)
            result.times.append(time.perf_counter() - began)
    return results


# --- Report ---------------------------------------------------------------------------------------


def machine() -> str:
    from django.db import connection

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        names = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    if connection.vendor == "sqlite":
        database = f"SQLite {sqlite3.sqlite_version}"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]} on {connection.settings_dict['HOST']}"
    import django

    return (
        f"{platform.platform()} | {cpu}, {os.cpu_count()} CPUs | Python {platform.python_version()} | "
        f"Django {django.get_version()} | {database}"
    )


def main(argv=None) -> None:
    args = parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    fresh_database(url)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    print(f"bench.summary {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    call_command("migrate", verbosity=0)
    topics, timings = seed(args)
    if not args.no_analyze:
        # Fresh tables have no planner statistics; a live database gets them from autovacuum or ANALYZE.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    for t in topics:
        shape = t["shape"]
        print(
            f"seeded {t['topic'].slug}: {shape.votes:,} votes, {shape.replies:,} replies, {shape.threads:,} threads, "
            f"{shape.users:,} users in {timings['seed ' + t['name']]:.1f} s"
        )
    print(f"seeding in all (users included): {timings['seed total']:.1f} s")
    print(
        f"tallies_audit(fix=True): {timings['audit fix']:.1f} s, {timings['audit fix mismatches']:,} mismatches fixed, "
        f"peak RSS {timings['rss before audit']:.0f} → {timings['rss after audit']:.0f} MB; "
        f"tallies_audit() recheck: {timings['audit check']:.1f} s, clean"
    )

    pairs = []
    for kind in ("topic", "thread"):
        for t in topics:
            url = (
                f"/api/topics/{t['topic'].slug}/summary/"
                if kind == "topic"
                else f"/api/threads/{t['big_thread'].pk}/summary/"
            )
            pairs.append((f"{kind} summary, {t['name']}", url))
    load_before = os.getloadavg()[0]
    results = measure(pairs, args.warmup, args.requests)

    # Other work on the machine skews absolute times (interleaving keeps the ratios fair); show how busy it was.
    print(f"\n{args.requests} timed requests each after {args.warmup} warm-up, interleaved", end="")
    print(f" (1-min load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after):")
    header = (
        f"{'endpoint':<24}{'votes':>11}{'replies':>9}{'listed':>8}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'queries':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.label:<24}{r.votes:>11,}{r.replies:>9,}{r.listed:>8}{r.percentile(0.5):>9.2f}{r.percentile(0.95):>9.2f}"
            f"{r.mean:>9.2f}{r.queries:>9}"
        )
    by_label = {r.label: r for r in results}
    for kind in ("topic", "thread"):
        small, large = by_label[f"{kind} summary, small"], by_label[f"{kind} summary, large"]
        ratio = large.percentile(0.5) / small.percentile(0.5)
        print(f"{kind} summary p50 large/small: {ratio:.2f} (target ≤ 1.2)")
    print("votes, replies: what the summary reports (active votes, visible replies); listed: replies in its body")
    connection.close()


if __name__ == "__main__":
    main()
