"""Recount every maintained counter from the raw rows; exit 1 when any was wrong."""

import sys

from django.core.management.base import BaseCommand

from discussions.audit import tallies_audit


class Command(BaseCommand):
    help = "Recount counters and tallies from replies, votes and positions; print mismatches; --fix repairs them."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Write the recounted values.")

    def handle(self, *args, fix=False, **options):
        report = tallies_audit(fix=fix)
        for line in report:
            self.stdout.write(line)
        if not report:
            self.stdout.write("verify_tallies: every counter matches a recount.")
            return
        verb = "fixed" if fix else "found (run with --fix to repair)"
        self.stderr.write(f"verify_tallies: {len(report)} mismatches {verb}.")
        sys.exit(1)
