"""Load-test a live `make serve` (gunicorn) on PostgreSQL or SQLite: every public read at two sizes, the writes.

Run from the repository root: `make bench`, or `.venv/bin/python -m bench.live --help`. It seeds its own
database (BENCH_DATABASE_URL, whose name must contain 'bench'), serves it on a loopback port, drives it with
concurrent clients, stops the server and prints p50/p95, ratios to the floor, queries and EXPLAIN of each
list. Nothing is asserted about speed: it fails only when a request fails or it cannot run.
"""

import argparse
import contextlib
import http.client
import io
import os
import random
import signal
import socket
import subprocess
import sys
import time
import warnings
from functools import partial
from pathlib import Path

from bench import load, plans, reads, report, stacks, streams, writes
from bench.summary import bench_database, fresh_database, machine, setup_django

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/forum_bench_live"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
SMALL, LARGE = "bench-small", "bench-large"
# Every variable config/settings reads: the caller's values must not reach the server or the query counts
# (a DATABASE_REPLICA_URL would send reads elsewhere, a SUMMARY_CACHE_SECONDS=0 turn the redis pass off).
APP_SETTINGS = [
    "ALLOWED_HOSTS",
    "API_MAX_PAGE_SIZE",
    "API_PAGE_SIZE",
    "CACHE_KEY_PREFIX",
    "CACHE_TIMEOUT",
    "CONN_MAX_AGE",
    "CORS_ALLOWED_ORIGINS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_POOL_SIZE",
    "DATABASE_POOL_TIMEOUT",
    "DATABASE_REPLICA_URL",
    "DATABASE_URL",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "EVENTS_KEEP_DAYS",
    "LOGIN_ADDRESS_FAILURE_LIMIT",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_FAILURE_WINDOW",
    "LOG_LEVEL",
    "REDIS_URL",
    "SECRET_KEY",
    "SQLITE_BUSY_TIMEOUT",
    "STREAM_COALESCE_SECONDS",
    "STREAM_HEARTBEAT_SECONDS",
    "STREAM_MAX_PER_ADDRESS",
    "STREAM_POLL_SECONDS",
    "STREAM_REPLAY_LIMIT",
    "STREAM_SAFETY_POLL_SECONDS",
    "STREAM_TICKET_SECONDS",
    "SUMMARY_CACHE_SECONDS",
    "THROTTLE_FLAG",
    "THROTTLE_LOGIN",
    "THROTTLE_POSITION",
    "THROTTLE_POST",
    "THROTTLE_REGISTER",
    "THROTTLE_SEARCH",
    "THROTTLE_VOTE",
    "TOKEN_TTL_DAYS",
    "WEB_CONCURRENCY",
]
# The writers' rates, for the server and the in-process counts alike: the defaults (30 replies an hour…)
# would refuse the timed writes.
LIFTED = {
    "THROTTLE_VOTE": "1000000/hour",
    "THROTTLE_POST": "1000000/hour",
    "THROTTLE_POSITION": "1000000/hour",
    "THROTTLE_SEARCH": "1000000/hour",
}
LOCKED = "database is locked"
SERVE_TIMEOUT = 300  # seconds for `make serve` to answer
PASSES = ("db", "redis", "stacks", "streams")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.splitlines()[0])
    size = parser.add_argument_group("data (seed_demo arguments of the two topics)")
    size.add_argument(
        "--large", type=sizes, default="5000,1000,50000,500000", help="users,threads,replies,votes (the issue's)"
    )
    size.add_argument("--small", type=sizes, default="100,20,1000,10000", help="users,threads,replies,votes")
    size.add_argument("--reuse", action="store_true", help="keep the database of the previous run: skip seeding")
    load_ = parser.add_argument_group("load")
    load_.add_argument("--clients", type=positive, default=8, help="concurrent clients (default 8)")
    load_.add_argument("--requests", type=positive, default=400, help="timed requests per endpoint and pass (400)")
    load_.add_argument("--rounds", type=positive, default=8, help="bursts per endpoint, taken in turn (default 8)")
    load_.add_argument("--warmup", type=positive, default=32, help="untimed requests per endpoint first (32)")
    load_.add_argument("--workers", type=positive, default=None, help="WEB_CONCURRENCY (default: make serve's own)")
    load_.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    load_.add_argument(
        "--deep-page", type=positive, default=reads.DEEP_PAGE, help="page the deep-page read reaches by `next` (2000)"
    )
    load_.add_argument(
        "--passes",
        default=",".join(PASSES),
        help="db: no summary cache (every request reads the database); redis: REDIS_URL set, summaries cached; "
        "stacks: a few requests under each serving stack, and beside slow clients (bench/stacks.py); streams: "
        "open topic streams while clients write (bench/streams.py) (default: all four, in that order)",
    )
    stacks.add_arguments(parser)
    streams.add_arguments(parser)
    return parser.parse_args(argv)


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of 1 or more")
    return value


def sizes(text: str) -> dict:
    """users,threads,replies,votes as seed_demo's keyword arguments."""
    try:
        users, threads, replies, votes = (int(n) for n in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give four whole numbers, users,threads,replies,votes") from None
    return {"users": users, "threads": threads, "replies": replies, "votes": votes}


def step(message: str) -> None:
    print(f"bench: {message}", flush=True)


def seed(args) -> None:
    """Two seed_demo topics, then ANALYZE: a live database has planner statistics (autovacuum, or a cron job)."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    for slug, shape, rng_seed in ((SMALL, args.small, 1), (LARGE, args.large, 2)):
        began = time.perf_counter()
        out = io.StringIO()
        call_command("seed_demo", topic=slug, seed=rng_seed, no_progress=True, stdout=out, **shape)
        step(f"{out.getvalue().strip().splitlines()[-1]} ({time.perf_counter() - began:.1f} s with start-up)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- The server -----------------------------------------------------------------------------------


def free_port(port: int) -> int:
    """`port` if nothing listens there (0: any free one); a busy port would let the bench measure another server."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            sys.exit(f"bench: port {port} is taken ({exc}); pass another --port or leave it out")
        return s.getsockname()[1]


def answers(port: int, path: str) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False


def serve(url: str, port: int, args, redis_url: str | None, log: Path, extra: dict | None = None) -> subprocess.Popen:
    """`make serve` on the bench database, throttles lifted (the writers would hit them), until it answers."""
    kept = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")
    # libpq's own variables (PGPASSWORD, PGSSLMODE…) stay: the seeding connected with them, so must the server.
    env = {name: value for name, value in os.environ.items() if name in kept or name.startswith("PG")}
    env |= LIFTED | {
        "DATABASE_URL": url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
        "LOG_LEVEL": "WARNING",
        "SUMMARY_CACHE_SECONDS": "300" if redis_url else "0",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    env |= extra or {}  # the stacks and streams passes: SERVER, STREAM_MAX_PER_ADDRESS
    server = subprocess.Popen(
        ["make", "-s", "serve"],
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stop() reaches make, gunicorn and its workers
    )
    try:
        # bin/serve migrates first: a new migration rewriting a large table can take minutes.
        deadline = time.monotonic() + SERVE_TIMEOUT
        while time.monotonic() < deadline:
            if server.poll() is not None:
                sys.exit(f"bench: make serve exited with {server.returncode}; see {log}")
            # Health alone could come from another server; the bench topic only from ours.
            if answers(port, "/api/health/") and answers(port, f"/api/topics/{LARGE}/") and server.poll() is None:
                return server
            time.sleep(0.3)
        sys.exit(f"bench: the server did not answer within {SERVE_TIMEOUT} s; see {log}")
    except BaseException:
        stop(server)
        raise


def stop(server: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@contextlib.contextmanager
def serving(url: str, args, log: Path, locked: list, **extra):
    """`make serve` without Redis, `extra` in its environment; yields a load.Node, then stops the server and
    adds the log's "database is locked" lines to `locked`."""
    from django.db import connection

    connection.close()  # nothing of this process holds the database while the server runs (SQLite's lock)
    port = free_port(args.port)
    server = serve(url, port, args, None, log, extra)
    try:
        yield load.Node(port, server.pid, workers_of(log))
    finally:
        stop(server)
        locked.append(sum(LOCKED in line for line in log.read_text().splitlines()))


def workers_of(log: Path) -> str:
    for line in log.read_text().splitlines():
        if "gunicorn workers" in line:
            return line.split("serve: ", 1)[-1]
    return "?"


def redis_answers(redis_url: str) -> bool:
    """Whether the bench's Redis answers; refuses database 0 before anything is seeded or emptied."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    # A guard, as for the database: database 0 is where an application's cache usually lives, and the
    # run empties the one it is given.
    if client.connection_pool.connection_kwargs.get("db", 0) == 0:
        sys.exit(f"bench: refusing to empty Redis database 0 ({redis_url}); give BENCH_REDIS_URL a number of its own")
    try:
        return bool(client.ping())
    except redis.RedisError as exc:
        step(f"Redis at {redis_url} is not answering ({exc})")
        return False


def flush_redis(redis_url: str) -> None:
    """Empty the bench's Redis database (a number of its own), so no earlier run's entries answer."""
    import redis

    redis.Redis.from_url(redis_url, socket_timeout=2).flushdb()  # not database 0: redis_answers refused it


# --- The run --------------------------------------------------------------------------------------


def prepare(args) -> tuple[dict, list[load.Endpoint]]:
    """In-process, before any server: what each size reads (its deep page found by following `next`), and
    the writers with their accounts; returns the picks by size and the endpoints of one pass."""
    picks = {"small": reads.pick(SMALL), "large": reads.pick(LARGE)}
    for size, p in picks.items():
        took = reads.follow_next(p, args.deep_page)
        step(f"{size}: followed `next` to page {p.deep_number:,} in {took:.1f} s in-process")
    measured = reads.reads("small", picks["small"]) + reads.reads("large", picks["large"])
    write_endpoints, votes = writes.writers(LARGE, random.Random(2026))
    per_pass = load.sent_per_endpoint(warmup=args.warmup, requests=args.requests, rounds=args.rounds) + 2
    needed = sum(
        stacks.votes_needed(args) if name == "stacks" else streams.votes_needed(args) if name == "streams" else per_pass
        for name in args.passes.split(",")
    )
    if votes.available < needed:
        sys.exit(f"bench: {votes.available:,} fresh (voter, reply) pairs, {needed:,} needed: seed more replies")
    return picks, measured + write_endpoints


def run_pass(name: str, url: str, args, template: list[load.Endpoint], redis_url: str, log: Path):
    """Count queries in-process, then serve and drive; returns the pass's endpoints, time and lock failures."""
    from django.db import connection

    cached = name == "redis"
    if cached:
        flush_redis(redis_url)
    measured = [e.fresh() for e in template]
    reads.count_queries(measured, cached, redis_url)
    connection.close()  # nothing of this process holds the database while the server runs (SQLite's lock)
    port = free_port(args.port)
    server = serve(url, port, args, redis_url if cached else None, log)
    try:
        elapsed = load.drive(
            port, measured, warmup=args.warmup, requests=args.requests, rounds=args.rounds, clients=args.clients
        )
    finally:
        stop(server)
    locked = sum(LOCKED in line for line in log.read_text().splitlines())
    return measured, elapsed, locked


def main(argv=None) -> None:
    # A SIGTERM (a CI timeout, kill) becomes SystemExit, so the finally blocks stop the server: it runs in
    # a session of its own and would outlive the bench.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # WhiteNoise warns that nothing is collected yet: only the server, which collects, serves static files.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    began = time.perf_counter()
    args = parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://", "sqlite:///")):
        sys.exit("bench: BENCH_DATABASE_URL must be postgres://… or sqlite:////absolute/path/…bench….sqlite3")
    bench_database(url)  # refuses a database whose name lacks 'bench', --reuse or not
    redis_url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS
    passes = [p.strip() for p in args.passes.split(",") if p.strip()]
    if unknown := set(passes) - set(PASSES):
        sys.exit(f"bench: unknown pass {sorted(unknown)}; use any of {', '.join(PASSES)}")
    if "redis" in passes and not redis_answers(redis_url):
        passes.remove("redis")
        if not passes:
            sys.exit("bench: the redis pass needs Redis (BENCH_REDIS_URL); nothing to measure")
        step("the redis pass is skipped")
    args.passes = ",".join(passes)
    for name in APP_SETTINGS:
        os.environ.pop(name, None)
    os.environ.update(LIFTED)
    if not args.reuse:
        fresh_database(url)
    setup_django(url)
    from django.db import connection

    step(machine())
    if not args.reuse:
        seeding = time.perf_counter()
        seed(args)
        step(f"seeded in {time.perf_counter() - seeding:.1f} s")
    picks, template = prepare(args)

    found, failed, locked = [], 0, {}
    log = BASE_DIR / "var" / "bench-serve.log"
    log.parent.mkdir(exist_ok=True)
    for name in passes:
        if name in ("stacks", "streams"):
            counted = []
            module = stacks if name == "stacks" else streams
            failed += module.run(partial(serving, url, args, log, counted), template, args)
            locked[name] = sum(counted)
            if connection.vendor == "sqlite":
                print(f"'{LOCKED}' in the server logs: {locked[name]}")
            continue
        measured, elapsed, locked[name] = run_pass(name, url, args, template, redis_url, log)
        if not found:  # the plans of the first pass's statements: the same lists in every pass
            found = plans.explain([e for e in measured if e.size == "large"])
        failed += report.report(name, measured, elapsed, args.clients, workers_of(log))
        print(report.deep_pages(picks))
        if connection.vendor == "sqlite":
            print(f"'{LOCKED}' in the server log: {locked[name]} (the writers queue on the busy timeout instead)")

    if found:
        report.plans(found, connection.vendor)
    print(f"\nbench: {time.perf_counter() - began:.0f} s in all; nothing is asserted about speed (bench/README.md).")
    if failed or any(locked.values()):
        # Figures from failing requests measure nothing, so the run itself fails.
        sys.exit(f"bench: {failed} requests failed (the first of each endpoint are shown above); see {log}")


if __name__ == "__main__":
    main()
