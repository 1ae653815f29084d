"""GET /api/health/ says whether the service can work; a lost database is a JSON 503, never an HTML 500.

The outage is real, not mocked: the default connection is swapped for a PostgreSQL connection to a closed
port (127.0.0.1:1), so every query fails the way it does when the server is gone. The real connection, with
the test's open transaction, is put back afterwards untouched.
"""

import contextlib

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from rest_framework.test import APIClient

from tests.support.clients import client_for

pytestmark = pytest.mark.django_db

HEALTH = "/api/health/"


@contextlib.contextmanager
def database_down():
    """Point the default alias at a PostgreSQL server that is not there, whatever the real backend is."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    real = connections[DEFAULT_DB_ALIAS]
    dead = DatabaseWrapper(
        {
            **real.settings_dict,
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "forum",
            "USER": "postgres",
            "PASSWORD": "",
            "HOST": "127.0.0.1",
            "PORT": "1",  # nothing listens there: connection refused at once
            "OPTIONS": {"connect_timeout": 2},
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
        },
        alias=DEFAULT_DB_ALIAS,
    )
    connections[DEFAULT_DB_ALIAS] = dead
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS] = real
        dead.close()


def unavailable(response):
    """The outage answer: 503, JSON, and when to try again."""
    assert response.status_code == 503, f"{response.status_code}: {response.content[:300]!r}"
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0
    return response.json()


def test_healthy_with_the_local_cache(anon):
    response = anon.get(HEALTH)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "local"}


def test_health_needs_no_credentials_and_ignores_bad_ones(db):
    # A load balancer sends no token; a stale one must not turn the probe into a 401.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert client.get(HEALTH).status_code == 200


def test_healthy_with_redis_configured(redis_cache, anon):
    response = anon.get(HEALTH)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_degraded_but_serving_when_the_configured_redis_is_gone(settings, anon):
    # Throttles, login counters and summaries fall back to each process's memory: the service still works.
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:1/15",
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 0.25},
        }
    }

    response = anon.get(HEALTH)

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "degraded"}


def test_health_is_503_json_while_the_database_is_unreachable(anon):
    with database_down():
        response = anon.get(HEALTH)

    assert unavailable(response) == {"status": "unavailable", "database": "unavailable", "cache": "local"}


def test_an_api_read_during_the_outage_is_503_json(topic):
    client = APIClient(raise_request_exception=False)  # a 500 must show up as a status, not as a raise
    with database_down():
        listing = client.get("/api/topics/")
        detail = client.get("/api/topics/sora-leak/summary/")

    assert unavailable(listing)["detail"]
    assert unavailable(detail)["detail"]


def test_an_authenticated_write_during_the_outage_is_503_json(topic, author):
    # The token lookup itself is the first query to fail here.
    client = client_for(author)
    client.raise_request_exception = False
    payload = {"topic": "sora-leak", "title": "Lost", "body": "Never stored.", "stance": "pro-tester"}

    with database_down():
        response = client.post("/api/threads/", payload, format="json")

    assert unavailable(response)["detail"]


def test_a_session_request_during_the_outage_is_503_json(author):
    # The session is read from the database before any view code of ours runs.
    browser = APIClient(raise_request_exception=False)
    browser.force_login(author)

    with database_down():
        response = browser.get("/api/me/")

    assert unavailable(response)["detail"]


def test_the_service_recovers_when_the_database_comes_back(topic, rival_topic, anon):
    with database_down():
        unavailable(anon.get("/api/topics/"))

    response = anon.get("/api/topics/")

    assert response.status_code == 200
    assert {t["slug"] for t in response.json()["results"]} == {"rival-debate", "sora-leak"}
    assert anon.get(HEALTH).json()["database"] == "ok"


def test_the_admin_answers_a_plain_503_while_the_database_is_unreachable(client, moderator, settings):
    settings.DEBUG = False
    client.force_login(moderator)
    client.raise_request_exception = False
    with database_down():
        response = client.get("/admin/discussions/reply/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert response["Retry-After"] == "30"
    assert b"database is unavailable" in response.content


def test_each_503_is_logged_with_its_cause(topic, caplog):
    client = APIClient(raise_request_exception=False)
    with database_down(), caplog.at_level("WARNING", logger="config.outage"):
        assert client.get("/api/topics/").status_code == 503

    (record,) = [r for r in caplog.records if r.name == "config.outage"]
    assert "OperationalError" in record.getMessage()
    assert "127.0.0.1" in record.getMessage() or "refused" in record.getMessage().lower()
