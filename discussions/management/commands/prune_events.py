"""Delete outbox events older than EVENTS_KEEP_DAYS (run it daily, from cron or a scheduler).

A stream reconnecting with an id older than what is kept gets `event: reset` and refetches; notifications
are not events and are never pruned.
"""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from discussions.services.events import events_prune


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"keep this many days (default EVENTS_KEEP_DAYS, now {settings.EVENTS_KEEP_DAYS})",
        )

    def handle(self, *args, days=None, **options):
        days = settings.EVENTS_KEEP_DAYS if days is None else days
        if days < 0:
            raise CommandError("--days: give 0 or more")
        deleted = events_prune(before=timezone.now() - datetime.timedelta(days=days))
        self.stdout.write(f"pruned {deleted} events older than {days} days")
