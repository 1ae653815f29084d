"""Load-test a live `make serve` (gunicorn) on PostgreSQL with concurrent clients, and print ratios to the floor.

Run from the repository root: `make bench`, or `.venv/bin/python -m bench.live --help`. It seeds its own
database (BENCH_DATABASE_URL, whose name must contain 'bench'), serves it on a loopback port, drives it,
stops the server and prints p50/p95 per endpoint, the query count of each request and EXPLAIN of the
reply-page query. Nothing is asserted: it reports.
"""

import argparse
import contextlib
import http.client
import io
import itertools
import json
import math
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.summary import bench_database, fresh_database, machine, percentile_ms, setup_django

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/forum_bench_live"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
SMALL, LARGE = "bench-small", "bench-large"
VOTERS = 24  # fresh accounts that cast the timed votes: every POST is a new (user, reply) pair
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
    "DATABASE_REPLICA_URL",
    "DATABASE_URL",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "LOGIN_ADDRESS_FAILURE_LIMIT",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_FAILURE_WINDOW",
    "LOG_LEVEL",
    "REDIS_URL",
    "SECRET_KEY",
    "SQLITE_BUSY_TIMEOUT",
    "SUMMARY_CACHE_SECONDS",
    "THROTTLE_FLAG",
    "THROTTLE_LOGIN",
    "THROTTLE_POSITION",
    "THROTTLE_POST",
    "THROTTLE_REGISTER",
    "THROTTLE_VOTE",
    "TOKEN_TTL_DAYS",
    "WEB_CONCURRENCY",
]
# (label, target): the targets for the p50 ratios.
TARGETS = [
    ("summary large / small", 1.2),
    ("summary small / floor", 1.5),
    ("summary large / floor", 1.5),
    ("reply page / floor", 2.5),
    ("vote / floor", 2.5),
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.splitlines()[0])
    size = parser.add_argument_group("data (seed_demo arguments of the two topics)")
    size.add_argument(
        "--large", type=sizes, default="5000,1000,50000,500000", help="users,threads,replies,votes (the issue's)"
    )
    size.add_argument("--small", type=sizes, default="200,20,500,5000", help="users,threads,replies,votes (1%% of it)")
    size.add_argument("--reuse", action="store_true", help="keep the database of the previous run: skip seeding")
    load = parser.add_argument_group("load")
    load.add_argument("--clients", type=positive, default=8, help="concurrent clients (default 8)")
    load.add_argument("--requests", type=positive, default=400, help="timed requests per endpoint and pass (400)")
    load.add_argument("--rounds", type=positive, default=8, help="bursts per endpoint, taken in turn (default 8)")
    load.add_argument("--workers", type=positive, default=None, help="WEB_CONCURRENCY (default: make serve's own)")
    load.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    load.add_argument(
        "--passes",
        default="db,redis",
        help="db: no summary cache (every request reads PostgreSQL); redis: REDIS_URL set, summaries cached "
        "(default: both, in that order)",
    )
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


# --- Data -----------------------------------------------------------------------------------------


def seed(args) -> None:
    """Two seed_demo topics, then ANALYZE: a live database has planner statistics from autovacuum."""
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


def voters_and_targets(rng: random.Random) -> tuple[list[str], list[int]]:
    """Tokens of the accounts that cast the timed votes, and the large topic's visible replies they have not
    voted on (a --reuse run skips the ones an earlier run used)."""
    from django.contrib.auth import get_user_model

    from discussions.models import Reply
    from forum.models import ApiToken

    User = get_user_model()
    tokens = []
    for i in range(VOTERS):
        user, _ = User.objects.get_or_create(username=f"bench-voter-{i}")
        tokens.append(ApiToken.objects.create(user=user)[1])  # only its digest is stored: a new one each run
    visible = Reply.objects.filter(topic__slug=LARGE, state=Reply.State.VISIBLE)
    ids = list(visible.exclude(votes__user__username__startswith="bench-voter-").values_list("pk", flat=True))
    rng.shuffle(ids)
    return tokens, ids


# --- Requests -------------------------------------------------------------------------------------


@dataclass
class Endpoint:
    label: str
    method: str
    path: str | None  # None: the vote POST, whose path changes per request
    times: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    queries: int = 0  # in one request, counted in-process before the server starts

    def percentile(self, p: float) -> float:
        return percentile_ms(self.times, p)


def endpoints() -> list[Endpoint]:
    return [
        Endpoint("floor: topic detail", "GET", f"/api/topics/{LARGE}/"),
        Endpoint("summary, small topic", "GET", f"/api/topics/{SMALL}/summary/"),
        Endpoint("summary, large topic", "GET", f"/api/topics/{LARGE}/summary/"),
        Endpoint("reply page, best", "GET", f"/api/replies/?topic={LARGE}&ordering=best"),
        Endpoint("vote POST", "POST", None),
    ]


class Votes:
    """Hands out (token, reply) pairs no one has used: every vote is a fresh cast, never a no-op repeat."""

    SPREAD = 64  # consecutive votes on different replies, then the next voter

    def __init__(self, tokens: list[str], targets: list[int]):
        self.tokens, self.targets = tokens, targets
        self.available = len(tokens) * (len(targets) // self.SPREAD) * self.SPREAD
        self._taken = itertools.count()
        self._lock = threading.Lock()

    def next(self) -> tuple[str, int]:
        # Replies change with every vote, or all the clients would queue on one reply's row lock; voters
        # change every SPREAD votes, or one voter's throttle history would grow with the whole run.
        with self._lock:
            i = next(self._taken)
        if i >= self.available:
            raise RuntimeError("bench: out of fresh (voter, reply) pairs")
        block, j = divmod(i, len(self.tokens) * self.SPREAD)
        return self.tokens[j // self.SPREAD], self.targets[block * self.SPREAD + j % self.SPREAD]


def call(port: int, endpoint: Endpoint, votes: Votes) -> tuple[float, int, bytes]:
    """One request on a new connection (gunicorn's sync workers close each one); returns (seconds, status, body)."""
    headers, body, path = {"Accept": "application/json"}, None, endpoint.path
    if path is None:
        token, reply = votes.next()
        path = f"/api/replies/{reply}/vote/"
        headers |= {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        body = json.dumps({"value": 1 if reply % 3 else -1})
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(endpoint.method, path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read()
    finally:
        conn.close()
    return time.perf_counter() - began, response.status, content


def burst(port: int, endpoint: Endpoint, votes: Votes, count: int, clients: int, record: bool) -> None:
    """`count` requests to one endpoint from `clients` threads at once, each sending its next as soon as one ends."""
    remaining = itertools.count()
    lock = threading.Lock()

    def client():
        while True:
            with lock:
                if next(remaining) >= count:
                    return
            try:
                seconds, status, content = call(port, endpoint, votes)
            except Exception as exc:  # counted as a failed request; a thread's exception would otherwise vanish
                endpoint.errors.append(repr(exc))
                continue
            if status != 200:
                endpoint.errors.append(f"{status} {content[:200]!r}")
            elif record:
                endpoint.times.append(seconds)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def drive(port: int, args, measured: list[Endpoint], votes: Votes) -> float:
    """Warm every endpoint up, then take them in turn, a burst each per round, so drift hits all alike."""
    for endpoint in measured:
        burst(port, endpoint, votes, 4 * args.clients, args.clients, record=False)
    per_round = math.ceil(args.requests / args.rounds)
    began = time.perf_counter()
    for _ in range(args.rounds):
        for endpoint in measured:
            burst(port, endpoint, votes, per_round, args.clients, record=True)
    return time.perf_counter() - began


# --- Queries and EXPLAIN, in-process ---------------------------------------------------------------


def count_queries(measured: list[Endpoint], votes: Votes, cached: bool, redis_url: str) -> dict:
    """Each endpoint's query count through django.test.Client, with the summary cache as the pass has it;
    returns each endpoint's SQL."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    caches = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url}}
    overrides = {"SUMMARY_CACHE_SECONDS": 300, "CACHES": caches} if cached else {"SUMMARY_CACHE_SECONDS": 0}
    client, statements = Client(), {}
    with override_settings(**overrides):
        for endpoint in measured:

            def send(endpoint=endpoint):
                if endpoint.path is not None:
                    return client.get(endpoint.path)
                token, reply = votes.next()
                return client.post(
                    f"/api/replies/{reply}/vote/",
                    {"value": 1},
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Token {token}",
                )

            send()  # the second request is the counted one: with a warm cache where the pass has one
            with CaptureQueriesContext(connection) as captured:
                response = send()
            if response.status_code != 200:
                sys.exit(f"bench: {endpoint.label} answered {response.status_code}: {response.content[:300]!r}")
            endpoint.queries = len(captured)
            statements[endpoint.label] = [q["sql"] for q in captured.captured_queries]
    return statements


def explain(captured_sql: dict) -> tuple[str, str]:
    """EXPLAIN ANALYZE of the reply page's main query, with a one-line verdict on index use and sorting."""
    from django.db import connection

    page = [sql for sql in captured_sql["reply page, best"] if 'FROM "discussions_reply"' in sql and "LIMIT" in sql]
    if not page:
        return "", "no ORDER BY … LIMIT query found among the reply page's queries"
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {page[0]}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    index = "Index Scan" in plan or "Index Only Scan" in plan
    sort = any(re.match(r"\s*(->\s*)?(Incremental )?Sort\b", line) for line in plan.splitlines())
    verdict = f"index scan: {'yes' if index else 'NO'}; sort node: {'YES' if sort else 'none'}"
    return f"{page[0]}\n\n{plan}", verdict


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


def serve(url: str, port: int, args, redis_url: str | None, log: Path) -> subprocess.Popen:
    """`make serve` on the bench database, throttles lifted (the voters would hit 300/hour), until it answers."""
    kept = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")
    # libpq's own variables (PGPASSWORD, PGSSLMODE…) stay: the seeding connected with them, so must the server.
    env = {name: value for name, value in os.environ.items() if name in kept or name.startswith("PG")} | {
        "DATABASE_URL": url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "THROTTLE_VOTE": "1000000/hour",
        "SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
        "LOG_LEVEL": "WARNING",
        "SUMMARY_CACHE_SECONDS": "300" if redis_url else "0",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    server = subprocess.Popen(
        ["make", "-s", "serve"],
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stop() reaches make, gunicorn and its workers
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                sys.exit(f"bench: make serve exited with {server.returncode}; see {log}")
            # Health alone could come from another server; the bench topic only from ours.
            if answers(port, "/api/health/") and answers(port, f"/api/topics/{LARGE}/") and server.poll() is None:
                return server
            time.sleep(0.3)
        sys.exit(f"bench: the server did not answer within 60 s; see {log}")
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


# --- Report ---------------------------------------------------------------------------------------


def report(name: str, measured: list[Endpoint], elapsed: float, clients: int, workers: str) -> int:
    """Print the pass's table and ratios; returns how many requests failed."""
    total = sum(len(e.times) for e in measured)
    print(f"\n== pass '{name}': {clients} clients, {workers}; {total:,} timed requests in {elapsed:.1f} s")
    print(f"{'endpoint':<24}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'queries':>9}{'errors':>8}")
    for e in measured:
        mean = statistics.fmean(e.times) * 1000 if e.times else float("nan")
        p50 = e.percentile(0.5) if e.times else float("nan")
        p95 = e.percentile(0.95) if e.times else float("nan")
        print(f"{e.label:<24}{len(e.times):>6}{p50:>9.2f}{p95:>9.2f}{mean:>9.2f}{e.queries:>9}{len(e.errors):>8}")
        for error in e.errors[:3]:
            print(f"    error: {error}")
    failed = sum(len(e.errors) for e in measured)
    if not all(e.times for e in measured):
        return failed
    floor, small, large, page, vote = (e.percentile(0.5) for e in measured)
    ratios = {
        "summary large / small": large / small,
        "summary small / floor": small / floor,
        "summary large / floor": large / floor,
        "reply page / floor": page / floor,
        "vote / floor": vote / floor,
    }
    print(f"{'p50 ratio':<24}{'measured':>10}{'target':>9}")
    for label, target in TARGETS:
        verdict = "met" if ratios[label] <= target else "MISSED"
        print(f"{label:<24}{ratios[label]:>10.2f}{'<= ' + str(target):>9}  {verdict}")
    return failed


def main(argv=None) -> None:
    # A SIGTERM (a CI timeout, kill) becomes SystemExit, so the finally blocks stop the server: it runs in
    # a session of its own and would outlive the bench.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench: make bench measures PostgreSQL: BENCH_DATABASE_URL must be postgres://…")
    bench_database(url)  # refuses a database whose name lacks 'bench', --reuse or not
    redis_url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS
    passes = [p.strip() for p in args.passes.split(",") if p.strip()]
    if unknown := set(passes) - {"db", "redis"}:
        sys.exit(f"bench: unknown pass {sorted(unknown)}; use db, redis or both")
    if "redis" in passes and not redis_answers(redis_url):
        passes.remove("redis")
        if not passes:
            sys.exit("bench: the redis pass needs Redis (BENCH_REDIS_URL); nothing to measure")
        step("the redis pass is skipped")
    for name in APP_SETTINGS:
        os.environ.pop(name, None)
    if not args.reuse:
        fresh_database(url)
    setup_django(url)
    step(machine())
    if not args.reuse:
        seed(args)
    tokens, targets = voters_and_targets(random.Random(2026))
    votes = Votes(tokens, targets)
    needed = len(passes) * (args.requests + args.rounds * args.clients + 4 * args.clients + 2)
    if votes.available < needed:
        sys.exit(f"bench: {votes.available:,} fresh (voter, reply) pairs, {needed:,} needed: seed more replies")

    plan, failed = None, 0
    log = BASE_DIR / "var" / "bench-serve.log"
    log.parent.mkdir(exist_ok=True)
    for name in passes:
        cached = name == "redis"
        if cached:
            flush_redis(redis_url)
        measured = endpoints()
        statements = count_queries(measured, votes, cached, redis_url)
        plan = plan or explain(statements)
        port = free_port(args.port)
        server = serve(url, port, args, redis_url if cached else None, log)
        try:
            elapsed = drive(port, args, measured, votes)
        finally:
            stop(server)
        failed += report(name, measured, elapsed, args.clients, workers_of(log))

    if plan:
        text, verdict = plan
        print(f"\n== EXPLAIN (ANALYZE, BUFFERS) of the reply page's query: {verdict}\n{text}")
    print("\nbench: nothing is asserted about speed; see bench/README.md for how to read these figures.")
    if failed:
        # Figures from failing requests measure nothing, so the run itself fails.
        sys.exit(f"bench: {failed} requests failed (the first of each endpoint are shown above); see {log}")


if __name__ == "__main__":
    main()
