"""ANALYZE the debate's tables, so the query planner has statistics right after a bulk import.

PostgreSQL's autovacuum gathers them eventually (never, where it is off); SQLite only on ANALYZE. Until then
the planner guesses: after a COPY it took a table of 48k replies for 3 rows and chose a hash join.
"""

import time

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from discussions import search


def debate_tables(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The discussions app's tables, its many-to-many ones included, the accounts table, and on PostgreSQL the
    search index (on SQLite an FTS5 virtual table, which ANALYZE does not take)."""
    models = [*apps.get_app_config("discussions").get_models(include_auto_created=True), get_user_model()]
    tables = {m._meta.db_table for m in models if m._meta.managed and not m._meta.proxy}
    if connections[using].vendor == "postgresql":
        tables.add(search.TABLE)
    return sorted(tables)


def analyze_tables(tables: list[str] | None = None, *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """ANALYZE `tables` (by default the debate's) on PostgreSQL or SQLite; returns the tables analysed."""
    connection = connections[using]
    tables = debate_tables(using=using) if tables is None else sorted(set(tables))
    quoted = [connection.ops.quote_name(table) for table in tables]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(quoted)}")
        elif connection.vendor == "sqlite":
            for table in quoted:  # SQLite's ANALYZE takes one table at a time
                cursor.execute(f"ANALYZE {table}")
        else:
            raise ValueError(f"analyze_tables knows PostgreSQL and SQLite, not {connection.vendor}.")
    return tables


class Command(BaseCommand):
    help = (
        "ANALYZE the debate's tables (the discussions app's and the accounts table) on PostgreSQL or SQLite, "
        "so the query planner has statistics after a bulk import. seed_demo runs it after each load."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias (default: default)")

    def handle(self, *args, database, **options):
        began = time.perf_counter()
        try:
            tables = analyze_tables(using=database)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"analyze_tables: {len(tables)} tables analysed in {time.perf_counter() - began:.1f} s: {', '.join(tables)}"
        )
