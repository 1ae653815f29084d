"""Actors and a debate shared by the suite; a second topic with the same stance slugs is always present."""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import ModeratorFactory, TopicFactory, UserFactory, make_reply, make_thread


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counters and failed-login counts live in the cache; no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def topic(db):
    return TopicFactory(slug="sora-leak")


@pytest.fixture(autouse=True)
def other_topic(request):
    """Every database test runs beside a rival topic that reuses the stance slugs."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not names & {"db", "transactional_db"}:
        return None
    transactional = "transactional_db" in names or bool(marker and marker.kwargs.get("transaction"))
    request.getfixturevalue("transactional_db" if transactional else "db")
    return TopicFactory(slug="rival-debate")


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
def thread(topic, author):
    return make_thread(
        topic=topic, author=author, stance="pro-tester", title="Unpaid labour", body="Testers worked free."
    )


@pytest.fixture
def reply(thread, other):
    return make_reply(thread=thread, author=other, stance="pro-openai", body="Early access is the usual trade.")


@pytest.fixture
def anon():
    return APIClient()


def client_for(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def as_author(author):
    return client_for(author)


@pytest.fixture
def as_other(other):
    return client_for(other)


@pytest.fixture
def as_moderator(moderator):
    return client_for(moderator)
