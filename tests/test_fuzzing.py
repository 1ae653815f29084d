"""Schemathesis fuzzes every operation of /api/schema/ in-process: never a 5xx, always the documented answer.

The app is called through its WSGI handler against the pytest test database, authenticated with the
token of a staff moderator who wrote part of a small seeded debate, so the deep paths (edits, votes,
moderation, topic writes) are reached, not only the 401s and 404s. Each generated request runs in a
savepoint that is rolled back afterwards: every example meets the same seeded debate.

`make test` runs a short pass (FUZZ_EXAMPLES, default 10 generated cases per operation on top of
schemathesis' deterministic coverage cases); `make fuzz` runs a longer one.
"""

import os
import random

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from forum.models import ApiToken
from tests.support.factories import ModeratorFactory, UserFactory, make_reply, make_thread

pytestmark = pytest.mark.fuzz

# Generated cases per operation (schemathesis adds its deterministic coverage cases on top). The seed is
# fixed so that `make test` is repeatable; `make fuzz` draws a new one each run (FUZZ_SEED=random) and
# prints it, and FUZZ_SEED=<that number> replays a run.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
_seed = os.environ.get("FUZZ_SEED", "8")
FUZZ_SEED = random.randrange(2**32) if _seed == "random" else int(_seed)


@schemathesis.check
def not_a_server_error_but_an_oembed_format(ctx, response, case):
    """not_a_server_error, except oEmbed's 501 for a format it does not provide (as the oEmbed spec says)."""
    asked = (case.query or {}).get("format")
    if case.operation.path == "/api/oembed/" and response.status_code == 501 and asked not in (None, "json"):
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [
    not_a_server_error_but_an_oembed_format,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Ids and slugs of the seeded debate, filled in by the `seeded_debate` fixture; the hooks below swap them
# into generated requests now and then so that requests name things that exist.
SEEDED: dict[str, list] = {}


@pytest.fixture
def seeded_debate(db, topic, rival_topic):
    """A small debate on `sora-leak`: threads and replies by the fuzzing user and by others, votes, a position."""
    from discussions import services

    fuzzer = ModeratorFactory(username="fuzzer")
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    mine = make_thread(topic=topic, author=fuzzer, stance="pro-tester", title="Unpaid labour", body="Testers worked.")
    theirs = make_thread(topic=topic, author=alice, stance="pro-openai", title="Fair trade", body="Early access.")
    rival = make_thread(topic=rival_topic, author=bob, stance="pro-tester", title="Elsewhere", body="Another debate.")
    replies = [
        make_reply(thread=mine, author=alice, stance="pro-openai", body="Access was the pay."),
        make_reply(thread=mine, author=fuzzer, stance="pro-tester", body="Access is not pay."),
        make_reply(thread=theirs, author=bob, stance="pro-tester", body="They deserved more."),
        make_reply(thread=rival, author=fuzzer, stance="pro-openai", body="Off-topic here."),
    ]
    replies.append(make_reply(thread=mine, author=bob, stance="pro-tester", body="Agreed.", parent=replies[0]))
    for voter, reply in ((alice, replies[1]), (bob, replies[0]), (fuzzer, replies[2])):
        services.vote_cast(actor=voter, reply_id=reply.pk, value=1)
    services.position_set(actor=fuzzer, topic_slug=topic.slug, stance_slug="pro-tester", persuaded_by_id=None)
    _, token = ApiToken.objects.create(user=fuzzer)
    SEEDED.update(
        thread=[mine.pk, theirs.pk, rival.pk],
        reply=[r.pk for r in replies],
        user=[fuzzer.pk, alice.pk, bob.pk],
        topic=[topic.slug, rival_topic.slug],
        stance=["pro-tester", "pro-openai"],
    )
    return token


@pytest.fixture
def fuzz_headers(seeded_debate, settings):
    """The fuzzing user's token header; the app answers in-process as Django's test client would."""
    settings.ALLOWED_HOSTS = ["localhost"]  # schemathesis' WSGI client sends Host: localhost
    # Like Django's test client: a real handler closes "old" connections around each request, which
    # would close the test database's connection in the middle of the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"Authorization": f"Token {seeded_debate}"}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        SEEDED.clear()


def _sometimes_seeded(values: dict, pools: dict[str, str]):
    """A strategy for `values` where each field named in `pools` may become a seeded id or slug."""
    if not isinstance(values, dict):
        return st.just(values)
    choices = {}
    for field, pool in pools.items():
        value = values.get(field)
        if field in values and type(value) in (int, str) and SEEDED.get(pool):
            matching = [v for v in SEEDED[pool] if type(v) is type(value)]
            if matching:
                choices[field] = st.sampled_from([value, *matching])
    if not choices:
        return st.just(values)
    return st.fixed_dictionaries(choices).map(lambda chosen: {**values, **chosen})


def flatmap_path_parameters(context, path_parameters):
    path = context.operation.path
    pool = "reply" if path.startswith("/api/replies/") else "thread" if path.startswith("/api/threads/") else "topic"
    return _sometimes_seeded(path_parameters, {"id": pool, "slug": "topic"})


def flatmap_query(context, query):
    return _sometimes_seeded(
        query,
        {"thread": "thread", "parent": "reply", "author": "user", "topic": "topic", "stance": "stance"},
    )


def flatmap_body(context, body):
    return _sometimes_seeded(
        body,
        {"thread": "thread", "parent": "reply", "persuaded_by": "reply", "topic": "topic", "stance": "stance"},
    )


# The schema is what a client downloads from /api/schema/, fetched in-process at collection (it needs no
# database); the seeded data and the token come from fixtures at run time.
with override_settings(ALLOWED_HOSTS=["localhost"]):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
schema.config.seed = FUZZ_SEED
schema.hook(flatmap_path_parameters)
schema.hook(flatmap_query)
schema.hook(flatmap_body)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@schema.parametrize()
def test_every_operation_answers_as_documented(case, fuzz_headers):
    # A bare savepoint rather than an atomic block, which the services' durable transactions refuse to sit in.
    savepoint = transaction.savepoint()
    try:
        case.call_and_validate(headers=fuzz_headers, checks=CHECKS)
    except Exception as exc:
        exc.add_note(f"Replay this run with FUZZ_SEED={FUZZ_SEED} FUZZ_EXAMPLES={FUZZ_EXAMPLES}.")
        raise
    finally:
        transaction.savepoint_rollback(savepoint)
