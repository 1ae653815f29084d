"""analyze_tables: planner statistics on the debate's tables after a bulk import, on PostgreSQL and SQLite."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from discussions.management.commands.analyze_tables import debate_tables
from discussions.models import Reply, Vote

pytestmark = pytest.mark.django_db


def analysed_rows(table: str) -> int | None:
    """The row count the planner's statistics give `table`; None when ANALYZE has not gathered any."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Column statistics come from ANALYZE alone; pg_class.reltuples is also set by CREATE INDEX.
            sql = "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() AND tablename = %s"
            cursor.execute(sql, [table])
            if not cursor.fetchone()[0]:
                return None
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            return int(cursor.fetchone()[0])
        # SQLite: ANALYZE creates sqlite_stat1, a row per index, each stat starting with the rows it covers
        # (fewer in a partial index): the largest is the table's.
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        return max((int(stat.split()[0]) for (stat,) in cursor.fetchall()), default=None)


def test_it_gives_the_planner_statistics_of_rows_written_without_them(reply):
    Vote.objects.create(user=reply.thread.author, reply=reply, value=1)
    assert analysed_rows(Reply._meta.db_table) is None  # inserts gather no statistics

    out = StringIO()
    call_command("analyze_tables", stdout=out)

    assert analysed_rows(Reply._meta.db_table) == Reply.objects.count() == 2
    assert analysed_rows(Vote._meta.db_table) == 1
    assert f"{len(debate_tables())} tables analysed" in out.getvalue()


def test_the_debate_tables_are_the_apps_and_the_accounts():
    tables = debate_tables()

    assert {"discussions_reply", "discussions_vote", "discussions_participation", "forum_user"} <= set(tables)
    assert "forum_apitoken" not in tables
