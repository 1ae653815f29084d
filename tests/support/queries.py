"""Query budgets that count the statements a request really sends, not the savepoints around them."""

import contextlib
import re

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext

# A service's transaction is a savepoint inside the test's own transaction, and a real BEGIN/COMMIT in
# production: neither is work the request does, so neither counts.
_SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.IGNORECASE)


def statements(captured) -> list[str]:
    """The SQL of the captured queries, savepoints left out."""
    return [q["sql"] for q in captured.captured_queries if not _SAVEPOINT.match(q["sql"])]


@contextlib.contextmanager
def query_budget(limit: int, *, using: str = DEFAULT_DB_ALIAS):
    """Fail when the block sends more than `limit` statements; the failure lists them, numbered."""
    with CaptureQueriesContext(connections[using]) as captured:
        yield captured
    sent = statements(captured)
    if len(sent) > limit:
        listing = "\n".join(f"{number}. {sql}" for number, sql in enumerate(sent, start=1))
        pytest.fail(f"{len(sent)} statements, over the budget of {limit} (savepoints not counted):\n{listing}")


def forget_prepared() -> None:
    """PostgreSQL: drop the connection's prepared statements (they outlive a test on the suite's one connection)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # psycopg forgets its own on seeing this


def prepared_statements() -> list[str]:
    """PostgreSQL: the text of every statement prepared on the connection."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]
