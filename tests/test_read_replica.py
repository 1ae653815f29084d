"""Operators add a read replica: reads go to it, writes and everything a write request reads to the primary."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from tests.support.clients import client_for

ROUTER = ["config.db_router.PrimaryReplicaRouter"]
needs_replica = pytest.mark.skipif(
    "replica" not in settings.DATABASES, reason="the replica alias is set up on PostgreSQL runs only"
)


@pytest.fixture
def routed(settings):
    settings.DATABASE_ROUTERS = ROUTER


def _queries(client_call):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = client_call()
    return response, len(primary), len(replica)


@needs_replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_read_request_reads_from_the_replica(routed, thread, anon):
    response, on_primary, on_replica = _queries(lambda: anon.get("/api/topics/sora-leak/summary/"))

    assert response.status_code == 200
    assert response.json()["replies"] == 1  # the replica (a mirror here) has the committed rows
    assert on_primary == 0
    assert on_replica == 2  # the stances with their tallies, then every reply shown (the raw UNION ALL too)


@needs_replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_write_request_reads_and_writes_on_the_primary(routed, thread, other):
    client = client_for(other)
    body = {"thread": thread.pk, "body": "Written on the primary.", "stance": "pro-openai"}

    response, on_primary, on_replica = _queries(lambda: client.post("/api/replies/", body, format="json"))

    assert response.status_code == 201
    assert on_replica == 0  # the token lookup, the checks and the answer's read included
    assert on_primary > 5


@needs_replica
@pytest.mark.django_db(databases=["default", "replica"])
def test_the_router_keeps_migrations_and_transactions_on_the_primary(routed):
    from django.db import router, transaction

    from discussions.models import Reply

    assert router.db_for_write(Reply) == "default"
    assert router.db_for_read(Reply) == "default"  # this test runs inside a transaction
    assert router.allow_migrate("replica", "discussions") is False
    assert router.allow_migrate("default", "discussions") is True
    with transaction.atomic():
        assert router.db_for_read(Reply) == "default"


def test_the_replica_alias_and_router_come_from_database_replica_url():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['replica']['HOST'], settings.DATABASES['replica']['NAME'], settings.DATABASE_ROUTERS)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "SECRET_KEY": "k",
        "DATABASE_URL": "postgres://postgres@primary.internal:5432/forum",
        "DATABASE_REPLICA_URL": "postgres://reader@replica.internal:5432/forum",
    }
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["replica.internal", "forum", "['config.db_router.PrimaryReplicaRouter']"]
