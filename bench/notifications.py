"""Time POST /api/replies/ into a thread 1,000 readers watch beside the same post into a thread only its opener
watches: the notifications' fan-out runs inside the reply's transaction, so its cost is in the answer's time.

Run from the repository root: `.venv/bin/python -m bench.notifications [--watchers 1000 --requests 200]`. It
seeds its own database (a fresh var/bench-notifications.sqlite3, or BENCH_DATABASE_URL, whose name must contain
'bench') in-process, through django.test's client, and asserts nothing about speed.
"""

import argparse
import datetime
import os
import statistics
import time

from bench.summary import BASE_DIR, fresh_database, machine, percentile_ms, setup_django

DEFAULT_URL = f"sqlite:///{BASE_DIR / 'var' / 'bench-notifications.sqlite3'}"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.notifications", description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=1_000, help="readers watching the busy thread (1,000)")
    parser.add_argument("--requests", type=int, default=200, help="timed replies into each thread (200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed replies into each thread first (20)")
    return parser.parse_args(argv)


def seed(watchers: int):
    """A topic with two threads by one opener: `quiet` (the opener watches) and `busy` (and `watchers` more)."""
    from django.contrib.auth import get_user_model

    from discussions import services
    from discussions.models import ThreadSubscription

    User = get_user_model()
    topic = services.topic_create(
        actor=None,
        slug="bench-notify",
        title="Notifications bench",
        question="Who is right?",
        stances=[{"slug": "yes", "label": "Yes"}, {"slug": "no", "label": "No"}],
    )
    opener, poster = User.objects.create(username="opener"), User.objects.create(username="poster")
    threads = {
        name: services.thread_create(actor=opener, topic_slug=topic.slug, title=name, body="Open.", stance_slug="yes")
        for name in ("quiet", "busy")
    }
    User.objects.bulk_create([User(username=f"watcher{i}") for i in range(watchers)])
    ThreadSubscription.objects.bulk_create(
        [
            ThreadSubscription(user=user, thread=threads["busy"], level=ThreadSubscription.Level.WATCHING)
            for user in User.objects.filter(username__startswith="watcher")
        ]
    )
    return poster, threads


def main(argv=None) -> None:
    args = parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    os.environ["THROTTLE_POST"] = "100000000/hour"  # a bench posts far more than a person
    fresh_database(url)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from discussions.models import Notification
    from forum.models import ApiToken

    print(f"bench.notifications {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    call_command("migrate", verbosity=0)
    poster, threads = seed(args.watchers)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.objects.create(user=poster)[1]}")

    def post(name: str, n: int) -> float:
        body = {"thread": threads[name].pk, "body": f"Point {n}.", "stance": "no"}
        began = time.perf_counter()
        response = client.post("/api/replies/", body, format="json")
        elapsed = time.perf_counter() - began
        assert response.status_code == 201, response.content
        return elapsed

    for n in range(args.warmup):
        post("quiet", n), post("busy", n)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    statements = {}
    for name in ("quiet", "busy"):
        with CaptureQueriesContext(connection) as captured:
            post(name, -1)
        statements[name] = len(captured.captured_queries)

    times = {"quiet": [], "busy": []}
    load_before = os.getloadavg()[0]
    for n in range(args.requests):  # interleaved, so drift and other load hit both alike
        for name in ("quiet", "busy") if n % 2 else ("busy", "quiet"):
            times[name].append(post(name, n))
    told = Notification.objects.filter(thread=threads["busy"]).count()

    print(
        f"\n{args.requests} timed replies into each thread after {args.warmup} warm-up, interleaved "
        f"(1-min load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after):"
    )
    print(f"{'thread':<34}{'statements':>11}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    for name, label in (("quiet", "the opener watches (plain reply)"), ("busy", f"{args.watchers:,} more watch")):
        seconds = times[name]
        print(
            f"{label:<34}{statements[name]:>11}{percentile_ms(seconds, 0.5):>9.1f}{percentile_ms(seconds, 0.95):>9.1f}"
            f"{statistics.fmean(seconds) * 1000:>9.1f}"
        )
    ratio = percentile_ms(times["busy"], 0.5) / percentile_ms(times["quiet"], 0.5)
    print(f"p50 ratio busy / plain: {ratio:.2f} (target: under 3); {told:,} notifications written in the busy thread")


if __name__ == "__main__":
    main()
