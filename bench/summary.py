"""Time the stance summary endpoints on a ~1k-vote topic and a ~1M-vote topic, in one run.

Run from the repository root: `.venv/bin/python -m bench.summary [--large-votes 100000]`. It seeds its own
database (a fresh var/bench.sqlite3, or BENCH_DATABASE_URL) and never touches the developer's data.
"""

import argparse
import contextlib
import datetime
import math
import os
import platform
import resource
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = f"sqlite:///{BASE_DIR / 'var' / 'bench.sqlite3'}"
# The demo generator's default start: the same --seed and sizes give the same rows whatever the day.
START = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
DAYS = 120  # the activity of each topic spans this many days from START


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


def sizes(votes: int) -> dict:
    """The demo generator's sizes (seed_demo's arguments) for a topic of `votes` votes: about 50 votes per
    reply, 200 per user and 20 replies per thread, so 1M votes → 20k replies, 5k users, 1k threads."""
    replies = max(100, votes // 50)
    return {"users": max(100, votes // 200), "threads": max(5, replies // 20), "replies": replies, "votes": votes}


class Progress:
    """A progress bar for the demo generator: one line rewritten in place on a terminal; only the final
    count when the output goes to a file."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.done = label, total, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int = 1) -> None:
        self.done += n
        if sys.stdout.isatty():
            print(
                f"\r  {self.label}: {self.done:,}/{self.total:,}",
                end="" if self.done < self.total else "\n",
                flush=True,
            )
        elif self.done >= self.total:
            print(f"  {self.label}: {self.done:,}")


def seed(args) -> tuple[list[dict], dict]:
    """Both topics through the one demo generator (bench/demo/, what seed_demo runs), each with the activity
    of DAYS days; then the audit rebuilds every counter, as seed_demo would."""
    from bench import demo
    from discussions.audit import tallies_audit

    topics, timings = [], {}
    began = time.perf_counter()
    for number, (name, votes) in enumerate((("small", args.small_votes), ("large", args.large_votes))):
        began_topic, slug, size = time.perf_counter(), f"bench-{name}", sizes(votes)
        try:
            seeded = demo.seed_topic(
                slug,
                **size,
                seed=args.seed + number,
                start=START,
                days=DAYS,
                bar=lambda phase, total, slug=slug: Progress(f"{slug} {phase}", total),
            )
        except demo.Refused as exc:
            sys.exit(f"bench: {exc}")
        topics.append({"name": name, "topic": seeded.topic, "size": size})
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
    for t in topics:
        # The thread summary is timed on each topic's biggest thread: the one with the most visible replies.
        t["big_thread"] = t["topic"].threads.order_by("-reply_count", "id").first()
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
        size = t["size"]
        print(
            f"seeded {t['topic'].slug}: {size['votes']:,} votes, {size['replies']:,} replies, {size['threads']:,} "
            f"threads, {size['users']:,} users in {timings['seed ' + t['name']]:.1f} s"
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
