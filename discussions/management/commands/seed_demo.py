"""Seed, or extend, a large and realistic demo debate: planned from a seed, bulk-inserted, then recounted."""

import datetime
import random
import sys
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries, transaction
from tqdm import tqdm

from discussions import demo, seed_content, services
from discussions.audit import tallies_audit
from discussions.models import Position, Stance, StanceTally, Thread, Topic


def day(value: str) -> datetime.datetime:
    """Midnight UTC of a YYYY-MM-DD date."""
    return datetime.datetime.combine(datetime.date.fromisoformat(value), datetime.time(), datetime.UTC)


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
            type=day,
            default=day("2025-01-01"),
            help="first day of the new activity, YYYY-MM-DD (default 2025-01-01); an existing topic goes on "
            "from the day after its last activity when that is later",
        )
        parser.add_argument("--days", type=int, default=60, help="days the new activity spans (default 60)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (there is none off a TTY)")

    def handle(self, *args, topic, users, threads, replies, votes, seed, start, days, no_progress, **options):
        began = time.perf_counter()
        if min(users, threads, replies, votes) < 0 or days < 1:
            raise CommandError("Counts must be 0 or more and --days at least 1.")
        if replies < threads or (replies and not threads):
            raise CommandError(
                "--replies counts the opening posts: at least --threads (new replies go in new threads)."
            )
        self.no_progress = no_progress
        self.topic = Topic.objects.filter(slug=topic).first()
        created = self.topic is None
        self.stances, existing = [], demo.Existing()
        if self.topic is not None:
            self.stances = self._stances(self.topic)
            latest = demo.latest_activity(self.topic)
            if latest is not None:
                start = max(start, day(latest.astimezone(datetime.UTC).date().isoformat()) + datetime.timedelta(days=1))
            existing = demo.load_existing(self.topic, self.stances, start)
        if (threads or votes) and not (existing.users or users):
            raise CommandError("Nobody to post or vote: pass --users.")
        self.start = start
        try:
            plan = demo.plan(
                random.Random(seed),
                users=users,
                threads=threads,
                replies=replies,
                votes=votes,
                existing=existing,
                span=days * demo.DAY,
            )
        except ValueError as exc:
            raise CommandError(f"{exc} Pass more --users or fewer --votes.") from None
        planned = time.perf_counter()

        self._insert(plan, existing, slug=topic)
        inserted = time.perf_counter()

        # style_func=str: a progress note, not an error, so not in the error colour Django gives stderr.
        self.stderr.write("seed_demo: recounting every counter with tallies_audit(fix=True)…", style_func=str)
        fixed = tallies_audit(fix=True)
        reset_queries()
        fixed_at = time.perf_counter()
        left = tallies_audit()
        self.stdout.write(f"seed_demo: tallies_audit() → {left[:10]!r}")
        if left:
            raise CommandError(f"{len(left)} counters still differ from a recount after tallies_audit(fix=True).")

        self.topic.refresh_from_db()
        withdrawn = sum(r.withdrawn is not None for r in plan.replies)
        retracted = sum(v.retracted is not None for v in plan.votes)
        changes = sum(p.changed for p in plan.positions)
        now = time.perf_counter()
        self.stdout.write(
            f"seed_demo: topic {topic} {'created' if created else 'extended'} from {start:%Y-%m-%d}: "
            f"+{users:,} users, +{threads:,} threads, +{replies:,} replies ({withdrawn:,} withdrawn), "
            f"+{votes:,} votes ({retracted:,} retracted), +{len(plan.positions):,} positions "
            f"({changes:,} changes of mind). It now has {self.topic.thread_count:,} threads, "
            f"{self.topic.reply_count:,} visible replies, {self.topic.participant_count:,} participants. "
            f"Planning {planned - began:.1f} s, inserting {inserted - planned:.1f} s, "
            f"tallies_audit(fix=True) {fixed_at - inserted:.1f} s ({len(fixed):,} counters set), "
            f"tallies_audit() {now - fixed_at:.1f} s; {now - began:.1f} s in all."
        )

    def _insert(self, plan: demo.Plan, existing: demo.Existing, slug: str) -> None:
        """Write the plan: one transaction per phase, and one per batch for the votes."""
        # A crash between phases leaves whole phases behind; counters are then put right by rerunning this
        # command (which extends the topic) or `verify_tallies --fix`.
        with transaction.atomic(), self._bar("users", plan.users) as bar:
            if self.topic is None:
                self.topic = services.topic_create(
                    slug=slug,
                    title=f"Demo: {seed_content.TOPIC['title']}",
                    question=seed_content.TOPIC["question"],
                    stances=seed_content.STANCES,
                )
                Topic.objects.filter(pk=self.topic.pk).update(created_at=self.start)
                self.stances = self._stances(self.topic)
            accounts = demo.build_users(plan, slug, existing.next_number, self.start)
            accounts = demo.insert(get_user_model(), accounts, progress=self._advance(bar))
        user_ids = existing.users + [user.pk for user in accounts]

        with transaction.atomic(), self._bar("replies", len(plan.replies)) as bar:
            threads = demo.insert(Thread, demo.build_threads(plan, self.topic, user_ids, self._at))
            replies = demo.build_replies(plan, self.topic, self.stances, [t.pk for t in threads], user_ids, self._at)
            demo.insert_replies(plan, replies, progress=self._advance(bar))
            demo.link_threads(self.topic.threads.filter(opening_reply=None))
            demo.insert(StanceTally, demo.build_thread_tallies(plan, self.topic, self.stances, threads, replies))
            reset_queries()  # with DEBUG on, Django keeps every statement: a batch is megabytes of SQL

        with transaction.atomic(), self._bar("positions", len(plan.positions)) as bar:
            for pk, until in plan.closes:
                Position.objects.filter(pk=pk).update(until=self._at(until))
            reply_ids = [reply.pk for reply in replies]
            positions = demo.build_positions(plan, self.topic, self.stances, user_ids, reply_ids, self._at)
            demo.insert(Position, positions, progress=self._advance(bar))

        with self._bar("votes", len(plan.votes)) as bar:
            rows = demo.vote_rows(plan, self.stances, user_ids, demo.target_ids(plan, replies), self._at)
            demo.insert_votes(rows, connection, progress=bar.update)

    def _at(self, seconds: float) -> datetime.datetime:
        return self.start + datetime.timedelta(seconds=seconds)

    def _bar(self, label: str, total: int) -> tqdm:
        # disable=None: tqdm shows nothing when stderr is not a terminal.
        return tqdm(total=total, desc=label, unit=" rows", file=sys.stderr, disable=True if self.no_progress else None)

    @staticmethod
    def _advance(bar: tqdm):
        return lambda done, total: bar.update(done - bar.n)

    @staticmethod
    def _stances(topic: Topic) -> list[Stance]:
        """The topic's stances in the generator's order (pro-tester, pro-openai); any other set is refused."""
        stances = {s.slug: s for s in Stance.objects.filter(topic=topic)}
        if sorted(stances) != sorted(demo.STANCES):
            raise CommandError(
                f"Topic '{topic.slug}' has the stances {sorted(stances)}; seed_demo writes debates between "
                f"{' and '.join(demo.STANCES)} only. Choose another --topic."
            )
        return [stances[slug] for slug in demo.STANCES]
