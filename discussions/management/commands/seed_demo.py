"""Seed, or extend, a large and realistic demo debate: planned from a seed, bulk-inserted, analysed, recounted.

This command is the demo-data generator's entry point. The generator itself is development tooling and lives
outside the apps, in bench/demo/ (which the benchmarks use too); this module is the only one under discussions/
or forum/ that imports it, and only a run of the command loads it.
"""

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import reset_queries, transaction
from tqdm import tqdm

from bench import demo
from discussions import search
from discussions.audit import tallies_audit
from discussions.management.commands.analyze_tables import analyze_tables


class Command(BaseCommand):
    help = (
        "Create topic SLUG (stances pro-tester and pro-openai) with a realistic debate, or extend it if it exists. "
        "Counts are what this run adds: --replies includes each thread's opening post and the withdrawn replies, "
        "--votes the retracted votes. The same seed and arguments give the same rows on a fresh topic."
    )

    def add_arguments(self, parser):
        parser.add_argument("--topic", required=True, help="topic slug, created if missing")
        parser.add_argument("--users", type=int, default=200, help="new accounts demo-SLUG-<n> (default 200)")
        parser.add_argument("--threads", type=int, default=40, help="new threads (default 40)")
        parser.add_argument("--replies", type=int, default=1000, help="new replies, opening posts included (1000)")
        parser.add_argument("--votes", type=int, default=10_000, help="new votes, on old and new replies (10000)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--start",
            type=demo.day,
            default=demo.day("2025-01-01"),
            help="first day of the new activity, YYYY-MM-DD (default 2025-01-01); an existing topic goes on "
            "from the day after its last activity when that is later",
        )
        parser.add_argument("--days", type=int, default=60, help="days the new activity spans (default 60)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (there is none off a TTY)")

    def handle(self, *args, topic, users, threads, replies, votes, seed, start, days, no_progress, **options):
        began = time.perf_counter()
        self.no_progress = no_progress
        try:
            seeded = demo.seed_topic(
                topic,
                users=users,
                threads=threads,
                replies=replies,
                votes=votes,
                seed=seed,
                start=start,
                days=days,
                bar=self._bar,
            )
        except demo.Refused as exc:
            raise CommandError(str(exc)) from None
        inserted = time.perf_counter()
        # The planner has no statistics on rows just copied in (autovacuum may be off, or not there yet), and
        # the search rebuild's join is the first query to need them: without them it joined 500k replies to
        # the titles by a nested loop (437 s instead of a minute).
        analyze_tables(demo.written_tables())
        analyzed = time.perf_counter()
        with transaction.atomic():
            search.index_rebuild(topic_id=seeded.topic.pk)  # the rows went around the services that index them
        analyze_tables([search.TABLE])  # searches plan on it from the first one on
        indexed = time.perf_counter()

        # style_func=str: a progress note, not an error, so not in the error colour Django gives stderr.
        self.stderr.write("seed_demo: recounting every counter with tallies_audit(fix=True)…", style_func=str)
        fixed = tallies_audit(fix=True)
        reset_queries()
        fixed_at = time.perf_counter()
        # The repair recounts every counter in one snapshot: when it found none wrong, a second recount
        # would only repeat it (a minute at 5M votes), so it runs after a repair only.
        left = tallies_audit() if fixed else []
        self.stdout.write(f"seed_demo: tallies_audit() → {left[:10]!r}")
        if left:
            raise CommandError(f"{len(left)} counters still differ from a recount after tallies_audit(fix=True).")

        seeded.topic.refresh_from_db()
        now = time.perf_counter()
        recheck = f"tallies_audit() {now - fixed_at:.1f} s" if fixed else "no recheck needed"
        self.stdout.write(
            f"seed_demo: topic {topic} {'created' if seeded.created else 'extended'} from {seeded.start:%Y-%m-%d}: "
            f"+{users:,} users, +{threads:,} threads, +{replies:,} replies ({seeded.withdrawn:,} withdrawn), "
            f"+{votes:,} votes ({seeded.retracted:,} retracted), +{seeded.positions:,} positions "
            f"({seeded.changes:,} changes of mind). It now has {seeded.topic.thread_count:,} threads, "
            f"{seeded.topic.reply_count:,} visible replies, {seeded.topic.participant_count:,} participants. "
            f"Planning {seeded.planning:.1f} s, inserting {seeded.inserting:.1f} s, "
            f"ANALYZE {analyzed - inserted:.1f} s, search index {indexed - analyzed:.1f} s, "
            f"tallies_audit(fix=True) {fixed_at - indexed:.1f} s ({len(fixed):,} counters set), {recheck}; "
            f"{now - began:.1f} s in all."
        )

    def _bar(self, label: str, total: int) -> tqdm:
        # disable=None: tqdm shows nothing when stderr is not a terminal.
        return tqdm(total=total, desc=label, unit=" rows", file=sys.stderr, disable=True if self.no_progress else None)
