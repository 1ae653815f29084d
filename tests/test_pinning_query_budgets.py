"""Developers pin query budgets: savepoints are not counted, every other statement is, and going over fails."""

import pytest
from django.db import transaction

from discussions.models import Topic
from tests.support.queries import query_budget


def test_savepoints_around_a_statement_are_not_counted(db):
    # Inside the test's own transaction, atomic() is a SAVEPOINT and its RELEASE.
    with query_budget(1) as captured, transaction.atomic():
        Topic.objects.exists()

    assert len(captured.captured_queries) == 3


def test_a_block_over_its_budget_fails_and_lists_what_it_sent(db):
    over = pytest.raises(pytest.fail.Exception, match=r"2 statements, over the budget of 1")
    with over as failed, query_budget(1):
        Topic.objects.exists()
        Topic.objects.count()

    assert "1. SELECT" in str(failed.value) and "2. SELECT COUNT" in str(failed.value)
