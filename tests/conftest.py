"""The suite's world: its actors, the debate they argue in, and a rival topic that is always there.

Actors (each defined here once): `author` (alice) and `other` (bob) are plain users; `moderator` is staff in
the Moderators group, as operators make one; `topic_manager` (tess) is in the Topic managers group; `staff` is
staff without any right; `suspended` (sam) posted a reply, then was suspended by a moderator. `as_<actor>`
is an API client signed in as them, `anon` nobody.

Every database test also has `rival_topic` (autouse): a second topic reusing the stance slugs, so any
lookup of a stance by slug alone picks the wrong one somewhere. Tests that look at it ask for it by name.
"""

import uuid

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from forum.services import user_suspend
from tests.support import queries
from tests.support.clients import client_for
from tests.support.factories import (
    ModeratorFactory,
    TopicFactory,
    TopicManagerFactory,
    UserFactory,
    make_reply,
    make_thread,
)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counters and failed-login counts live in the cache; no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def rival_topic(request):
    """Every database test runs beside a rival topic that reuses the stance slugs."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not names & {"db", "transactional_db"}:
        return None
    transactional = "transactional_db" in names or bool(marker and marker.kwargs.get("transaction"))
    request.getfixturevalue("transactional_db" if transactional else "db")
    return TopicFactory(slug="rival-debate")


@pytest.fixture
def topic(db):
    return TopicFactory(slug="sora-leak")


# --- actors ------------------------------------------------------------------------------------------


@pytest.fixture
def author(db):
    return UserFactory(username="alice")


@pytest.fixture
def other(db):
    return UserFactory(username="bob")


@pytest.fixture
def moderator(db):
    return ModeratorFactory(username="mod")


@pytest.fixture
def staff(db):
    """Staff, and nothing else: no group, no permission."""
    return UserFactory(username="staffer", is_staff=True)


@pytest.fixture
def topic_manager(db):
    """In the Topic managers group: creates topics and edits their text, and nothing more."""
    return TopicManagerFactory(username="tess")


@pytest.fixture
def suspended(thread, moderator):
    """A user who posted a reply in `thread`, then was suspended until lifted."""
    user = UserFactory(username="sam")
    make_reply(thread=thread, author=user, body="Written before the suspension.")
    user_suspend(actor=moderator, user=user, reason="Brigading the leak threads")
    return user


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def as_author(author):
    return client_for(author)


@pytest.fixture
def as_other(other):
    return client_for(other)


@pytest.fixture
def as_moderator(moderator):
    return client_for(moderator)


@pytest.fixture
def as_staff(staff):
    return client_for(staff)


@pytest.fixture
def as_topic_manager(topic_manager):
    return client_for(topic_manager)


@pytest.fixture
def as_suspended(suspended):
    return client_for(suspended)


# --- the debate they argue in ---------------------------------------------------------------------


@pytest.fixture
def thread(topic, author):
    return make_thread(
        topic=topic, author=author, stance="pro-tester", title="Unpaid labour", body="Testers worked free."
    )


@pytest.fixture
def reply(thread, other):
    return make_reply(thread=thread, author=other, stance="pro-openai", body="Early access is the usual trade.")


# --- tools ------------------------------------------------------------------------------------------


@pytest.fixture
def query_budget():
    """`with query_budget(n):` fails when the block sends more than n statements, savepoints not counted."""
    return queries.query_budget


@pytest.fixture
def redis_cache(settings):
    """The default cache on the local Redis (db 15) under a prefix of this test's own, removed after."""
    redis = pytest.importorskip("redis")
    server = redis.Redis(host="127.0.0.1", port=6379, db=15, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"no Redis server at 127.0.0.1:6379 ({exc})")
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": prefix,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    yield server, prefix
    for key in server.scan_iter(match=f"{prefix}:*"):
        server.delete(key)
    server.close()
