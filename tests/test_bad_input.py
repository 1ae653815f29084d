"""Garbage in: every bad input is a clear 4xx JSON answer naming what is wrong, and nothing is written.

Each write case compares the row counts of everything a write could add before and after, so a value
that slips through (and is stored) fails the test even when the status code happens to look right.
"""

import json
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from rest_framework.test import APIClient

from discussions import selectors, services
from discussions.models import Flag, Position, Reply, ReplyRevision, Stance, Thread, Topic, Vote
from discussions.services import replies
from tests.support.clients import client_for
from tests.support.factories import PASSWORD, TopicFactory, TopicManagerFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db

User = get_user_model()

MISSING = object()  # a case that leaves the field out altogether
COUNTED = (User, Topic, Stance, Thread, Reply, ReplyRevision, Vote, Flag, Position)


def row_counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


def refused(response, status=400, field=None):
    """A JSON error with this status that names the field at fault (or says something in `detail`)."""
    assert response.status_code == status, f"{response.status_code}: {response.content[:400]!r}"
    assert response["Content-Type"].split(";")[0] == "application/json", response["Content-Type"]
    body = response.json()
    if field is not None:
        assert field in body, f"{field!r} not named in {body}"
        assert body[field], body
    else:
        assert body, "an empty error body tells the client nothing"
    return body


def write(client, method, path, payload):
    """Send the payload as JSON. The test client's renderer writes UTF-8 and cannot encode a lone surrogate,
    so such a payload goes as a \\u escape, exactly as a real client's JSON library would send it."""
    try:
        json.dumps(payload, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return getattr(client, method)(path, data=json.dumps(payload), content_type="application/json")
    return getattr(client, method)(path, payload, format="json")


def resolve(value, world):
    """Cases that need an id of the world (a reply of another thread, say) are written as a callable."""
    return value(world) if callable(value) else value


def with_field(payload, field, value):
    payload = dict(payload)
    if value is MISSING:
        payload.pop(field, None)
    else:
        payload[field] = value
    return payload


@pytest.fixture
def world(topic, thread, reply, author, other, rival_topic):
    """sora-leak with a thread and a reply, a rival topic with the same stance slugs, and a third topic
    whose stance slugs exist nowhere else."""
    rival_thread = make_thread(topic=rival_topic, author=other, title="Elsewhere", body="Another debate.")
    withdrawn = make_reply(thread=thread, author=other, body="Taken back.")
    services.reply_withdraw(actor=other, reply_id=withdrawn.pk)
    TopicFactory(slug="ai-art", stances=(("for", "For"), ("against", "Against")))
    manager = TopicManagerFactory(username="tess")
    clients = {
        "alice": client_for(author),
        "bob": client_for(other),
        "manager": client_for(manager),
        "anon": APIClient(),
    }
    for client in clients.values():
        # A 500 is then a status the assertions report (with the body), as a real client would see it;
        # the traceback still goes to the captured log.
        client.raise_request_exception = False
    return SimpleNamespace(
        topic=topic,
        thread=thread,
        reply=reply,
        rival_thread=rival_thread,
        rival_reply=rival_thread.opening_reply,
        withdrawn=withdrawn,
        **clients,  # bob wrote `reply`
    )


# --- the values ------------------------------------------------------------------------------------

# Wrong for any text field: blank, control characters (NUL cannot be stored by PostgreSQL at all), a lone
# surrogate (cannot be encoded to UTF-8 by either database driver) and every JSON type that is not a string.
BAD_TEXT = [
    ("empty", ""),
    ("spaces", "    "),
    ("whitespace", " \t\n\r "),
    ("nul", "bad\x00text"),
    ("bell", "bad\x07text"),
    ("escape", "bad\x1b[31mtext"),
    ("delete", "bad\x7ftext"),
    ("lone-surrogate", "bad\ud800text"),
    ("null", None),
    ("list", ["some text"]),
    ("object", {"text": "some text"}),
    ("true", True),
    ("float", 1.5),
    ("integral-float", 1.0),
    ("int", 12),
    ("missing", MISSING),
]
# Wrong for a stance slug: blank, unknown, a stance of another topic only, and the wrong JSON types.
BAD_STANCE = [
    ("empty", ""),
    ("spaces", "   "),
    ("unknown", "nope"),
    ("of-another-topic", "for"),
    ("nul", "pro-tester\x00"),
    ("too-long", "x" * 51),
    ("null", None),
    ("list", ["pro-tester"]),
    ("object", {"slug": "pro-tester"}),
    ("true", True),
    ("float", 1.5),
    ("int", 1),
]
# Wrong for an id in a body: floats (even 1.0), booleans, strings that are not plain digits, containers
# (even ones holding a good id), out of range for a 64-bit key, and ids of nothing.
BAD_ID = [
    ("list", lambda w: [w.thread.pk]),
    ("object", lambda w: {"id": w.thread.pk}),
    ("integral-float", lambda w: float(w.thread.pk)),
    ("float", 1.5),
    ("true", True),
    ("false", False),
    ("word", "abc"),
    ("decimal-string", lambda w: f"{w.thread.pk}.0"),
    ("exponent-string", "1e3"),
    ("signed-string", "-1"),
    ("empty-string", ""),
    ("superscript-digit", "\u00b2"),
    ("zero", 0),
    ("negative", -1),
    ("int64-overflow", 2**63),
    ("beyond-64-bit", 2**64),
    ("huge", 10**30),
    ("unknown", 987_654_321),
]


def cases(field, values):
    return [pytest.param(field, value, id=f"{field}-{name}") for name, value in values]


# --- threads -----------------------------------------------------------------------------------


def thread_payload(**changes):
    payload = {"topic": "sora-leak", "title": "A fair title", "body": "An opening post.", "stance": "pro-tester"}
    return {**payload, **changes}


def test_the_longest_allowed_thread_is_accepted(world):
    # The refusals below are about the bad value, not about a payload that never worked.
    response = world.alice.post("/api/threads/", thread_payload(title="t" * 200, body="b" * 20_000), format="json")

    assert response.status_code == 201, response.content
    assert Thread.objects.filter(title="t" * 200).exists()


THREAD_CASES = [
    *cases("title", [*BAD_TEXT, ("too-long", "t" * 201), ("too-long-after-spaces", " " + "t" * 201 + " ")]),
    *cases("body", [*BAD_TEXT, ("too-long", "b" * 20_001)]),
    *cases("stance", [*BAD_STANCE, ("missing", MISSING)]),
    *cases(
        "topic",
        [
            ("empty", ""),
            ("unknown", "no-such-topic"),
            ("nul", "sora\x00leak"),
            ("too-long", "x" * 81),
            ("null", None),
            ("list", ["sora-leak"]),
            ("object", {"slug": "sora-leak"}),
            ("true", True),
            ("float", 1.5),
            ("missing", MISSING),
        ],
    ),
]


@pytest.mark.parametrize("field, value", THREAD_CASES)
def test_a_bad_thread_is_refused_naming_the_field(world, field, value):
    before = row_counts()

    response = write(world.alice, "post", "/api/threads/", with_field(thread_payload(), field, value))

    refused(response, 400, field)
    assert row_counts() == before


# --- replies -----------------------------------------------------------------------------------


def reply_payload(world, **changes):
    return {"thread": world.thread.pk, "body": "A reply.", "stance": "pro-openai", **changes}


def test_a_good_reply_with_a_parent_is_accepted(world):
    response = world.alice.post("/api/replies/", reply_payload(world, parent=world.reply.pk), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["parent"] == world.reply.pk


REPLY_CASES = [
    *cases("thread", [*BAD_ID, ("null", None), ("missing", MISSING)]),
    *cases(
        "parent",
        [
            *[(name, v) for name, v in BAD_ID],
            ("reply-of-another-thread", lambda w: w.rival_reply.pk),
            ("withdrawn-reply", lambda w: w.withdrawn.pk),
        ],
    ),
    *cases("body", [*BAD_TEXT, ("too-long", "b" * 20_001)]),
    *cases("stance", [*BAD_STANCE, ("missing", MISSING)]),
]


@pytest.mark.parametrize("field, value", REPLY_CASES)
def test_a_bad_reply_is_refused_naming_the_field(world, field, value):
    before = row_counts()

    payload = with_field(reply_payload(world), field, resolve(value, world))
    response = write(world.alice, "post", "/api/replies/", payload)

    refused(response, 400, field)
    assert row_counts() == before


def test_a_reply_into_another_topics_thread_keeps_to_that_topics_stances(world):
    # The rival topic reuses the slugs, the third topic's "for" is a stance of neither.
    before = row_counts()

    response = world.alice.post(
        "/api/replies/", {"thread": world.rival_thread.pk, "body": "x", "stance": "for"}, format="json"
    )

    refused(response, 400, "stance")
    assert row_counts() == before


EDIT_CASES = [
    *cases("body", [(n, v) for n, v in BAD_TEXT if v is not MISSING] + [("too-long", "b" * 20_001)]),
    *cases("stance", BAD_STANCE),
]


@pytest.mark.parametrize("field, value", EDIT_CASES)
def test_a_bad_edit_is_refused_and_changes_nothing(world, field, value):
    before = row_counts()

    response = write(world.bob, "patch", f"/api/replies/{world.reply.pk}/", {field: value})

    refused(response, 400, field)
    assert row_counts() == before  # no revision either
    stored = Reply.objects.select_related("stance").get(pk=world.reply.pk)
    assert (stored.body, stored.stance.slug) == ("Early access is the usual trade.", "pro-openai")


# --- votes, flags, positions ---------------------------------------------------------------------


VOTE_CASES = [
    ("zero", 0),
    ("two", 2),
    ("minus-two", -2),
    ("integral-float", 1.0),
    ("negative-integral-float", -1.0),
    ("float", 1.5),
    ("true", True),
    ("false", False),
    ("word", "up"),
    ("decimal-string", "1.0"),
    ("empty-string", ""),
    ("null", None),
    ("list", [1]),
    ("object", {"value": 1}),
    ("huge", 10**30),
    ("missing", MISSING),
]


@pytest.mark.parametrize("value", [pytest.param(v, id=name) for name, v in VOTE_CASES])
def test_a_bad_vote_is_refused_naming_value(world, value):
    before = row_counts()

    response = world.alice.post(f"/api/replies/{world.reply.pk}/vote/", with_field({}, "value", value), format="json")

    refused(response, 400, "value")
    assert row_counts() == before
    world.reply.refresh_from_db()
    assert (world.reply.upvotes, world.reply.downvotes) == (0, 0)


def test_a_good_flag_with_text_is_accepted(world):
    response = world.alice.post(
        f"/api/replies/{world.reply.pk}/flag/", {"reason": "spam", "text": "Line one.\nLine two."}, format="json"
    )

    assert response.status_code == 201, response.content


FLAG_CASES = [
    *cases(
        "reason",
        [
            ("empty", ""),
            ("spaces", "   "),
            ("unknown", "i-dislike-it"),
            ("nul", "spam\x00"),
            ("padded", " spam "),
            ("null", None),
            ("list", ["spam"]),
            ("object", {"reason": "spam"}),
            ("true", True),
            ("int", 1),
            ("missing", MISSING),
        ],
    ),
    # The text is optional (blank is fine) but when given it is text like any other.
    *cases(
        "text",
        [
            ("nul", "bad\x00text"),
            ("bell", "bad\x07text"),
            ("escape", "bad\x1b[31mtext"),
            ("delete", "bad\x7ftext"),
            ("lone-surrogate", "bad\ud800text"),
            ("too-long", "x" * 2001),
            ("list", ["text"]),
            ("object", {"text": "x"}),
            ("true", True),
            ("float", 1.5),
        ],
    ),
]


@pytest.mark.parametrize("field, value", FLAG_CASES)
def test_a_bad_flag_is_refused_naming_the_field(world, field, value):
    before = row_counts()

    payload = with_field({"reason": "spam", "text": "Looks like spam."}, field, value)
    response = write(world.alice, "post", f"/api/replies/{world.reply.pk}/flag/", payload)

    refused(response, 400, field)
    assert row_counts() == before


POSITION_CASES = [
    *cases("stance", [*BAD_STANCE, ("missing", MISSING)]),
    *cases(
        "persuaded_by",
        [
            *[(name, v) for name, v in BAD_ID],
            ("reply-of-another-topic", lambda w: w.rival_reply.pk),
            ("withdrawn-reply", lambda w: w.withdrawn.pk),
        ],
    ),
]


@pytest.mark.parametrize("field, value", POSITION_CASES)
def test_a_bad_position_is_refused_naming_the_field(world, field, value):
    before = row_counts()

    payload = with_field({"stance": "pro-openai", "persuaded_by": world.reply.pk}, field, resolve(value, world))
    response = write(world.alice, "put", "/api/topics/sora-leak/position/", payload)

    refused(response, 400, field)
    assert row_counts() == before


def test_a_position_on_an_unknown_topic_is_a_json_404(world):
    before = row_counts()

    response = world.alice.put("/api/topics/no-such-topic/position/", {"stance": "pro-tester"}, format="json")

    refused(response, 404)
    assert row_counts() == before


# --- topics (topic managers) ------------------------------------------------------------------------------


def topic_payload(**changes):
    stances = [{"slug": "yes", "label": "Yes"}, {"slug": "no", "label": "No"}]
    return {"slug": "new-debate", "title": "A new debate", "question": "Yes or no?", "stances": stances, **changes}


TOPIC_CASES = [
    *cases("slug", [("empty", ""), ("spaces", "new debate"), ("nul", "new\x00debate"), ("taken", "sora-leak")]),
    *cases("title", [*BAD_TEXT, ("too-long", "t" * 201)]),
    *cases(
        "stances",
        [
            ("one", [{"slug": "yes", "label": "Yes"}]),
            ("not-a-list", "yes,no"),
            ("duplicate", [{"slug": "yes", "label": "Yes"}, {"slug": "yes", "label": "Yes!"}]),
            ("bad-slug", [{"slug": "y e s", "label": "Yes"}, {"slug": "no", "label": "No"}]),
            ("blank-label", [{"slug": "yes", "label": "  "}, {"slug": "no", "label": "No"}]),
            ("bell-in-label", [{"slug": "yes", "label": "Y\x07es"}, {"slug": "no", "label": "No"}]),
            ("list-of-strings", ["yes", "no"]),
        ],
    ),
]


@pytest.mark.parametrize("field, value", TOPIC_CASES)
def test_a_bad_topic_is_refused_naming_the_field(world, field, value):
    before = row_counts()

    response = write(world.manager, "post", "/api/topics/", with_field(topic_payload(), field, value))

    refused(response, 400, field)
    assert row_counts() == before


# --- bodies that are not a JSON object, or not JSON at all ---------------------------------------


def write_endpoints():
    """For each write that reads a body: which client of the world sends it, the method and the path."""
    return {
        "thread": ("alice", "post", lambda w: "/api/threads/"),
        "reply": ("alice", "post", lambda w: "/api/replies/"),
        "edit": ("bob", "patch", lambda w: f"/api/replies/{w.reply.pk}/"),
        "vote": ("alice", "post", lambda w: f"/api/replies/{w.reply.pk}/vote/"),
        "flag": ("alice", "post", lambda w: f"/api/replies/{w.reply.pk}/flag/"),
        "position": ("alice", "put", lambda w: "/api/topics/sora-leak/position/"),
        "topic": ("manager", "post", lambda w: "/api/topics/"),
        "register": ("anon", "post", lambda w: "/api/auth/register/"),
        "token": ("anon", "post", lambda w: "/api/auth/token/"),
    }


ENDPOINTS = list(write_endpoints())


def send(world, endpoint, **kwargs):
    who, method, path = write_endpoints()[endpoint]
    return getattr(getattr(world, who), method)(path(world), **kwargs)


def on_every_endpoint(values, everywhere):
    """Cross the `everywhere` values with every endpoint and the rest with the thread endpoint only: each
    parser path is covered once per endpoint without multiplying every case."""
    return [
        pytest.param(endpoint, value, id=f"{name}-{endpoint}")
        for name, value in values.items()
        for endpoint in (ENDPOINTS if name in everywhere else ["thread"])
    ]


NOT_OBJECTS = {"empty-list": [], "list": [1, 2], "string": "a string", "number": 42, "null": None, "true": True}


@pytest.mark.parametrize("endpoint, document", on_every_endpoint(NOT_OBJECTS, {"list", "string", "null"}))
def test_a_body_that_is_not_an_object_is_refused(world, endpoint, document):
    before = row_counts()

    response = send(world, endpoint, data=json.dumps(document), content_type="application/json")

    refused(response, 400)
    assert row_counts() == before


MALFORMED = {
    "truncated": b'{"title": ',
    "single-quotes": b"{'value': 1}",
    "trailing-comma": b'{"value": 1,}',
    "nan": b'{"value": NaN, "thread": NaN}',
    "infinity": b'{"value": Infinity}',
    "two-documents": b'{"value": 1}{"value": -1}',
    "invalid-utf8": b'{"value": 1, "body": "\xff\xfe"}',
    "bare-word": b"hello",
}


@pytest.mark.parametrize("endpoint, raw", on_every_endpoint(MALFORMED, {"truncated", "nan", "invalid-utf8"}))
def test_malformed_json_is_a_400_with_detail(world, endpoint, raw):
    before = row_counts()

    response = send(world, endpoint, data=raw, content_type="application/json")

    body = refused(response, 400, "detail")
    assert "JSON" in body["detail"] or "parse" in body["detail"].lower()
    assert row_counts() == before


CONTENT_TYPES = {t: t for t in ("text/plain", "application/xml", "application/x-yaml", "image/png")}


@pytest.mark.parametrize("endpoint, content_type", on_every_endpoint(CONTENT_TYPES, {"text/plain", "application/xml"}))
def test_an_unsupported_content_type_is_a_415(world, endpoint, content_type):
    before = row_counts()

    response = send(world, endpoint, data=b'{"value": 1}', content_type=content_type)

    body = refused(response, 415, "detail")
    assert content_type in body["detail"]
    assert row_counts() == before


def test_a_compressing_charset_is_refused(world):
    # Decoding through bz2_codec would inflate a small body past every size limit.
    response = world.alice.post("/api/threads/", data=b"x", content_type="application/json; charset=bz2_codec")

    refused(response, 400, "detail")


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("endpoint", ["thread", "register"])
@pytest.mark.parametrize("encoding", ["json", "form", "multipart"])
def test_a_body_over_the_upload_limit_is_a_json_413_naming_the_limit(world, settings, endpoint, encoding, debug):
    # A valid request padded past DATA_UPLOAD_MAX_MEMORY_SIZE (256 KiB): the limit must hold for every
    # parser, or one client can make a worker hold megabytes per request. `make run` has DEBUG on, where
    # Django would answer its HTML debug page.
    settings.DEBUG = debug
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 256 * 1024
    good = thread_payload() if endpoint == "thread" else {"username": "carol", "password": "Tr1cky-Sora-Leak"}
    padded = {**good, "padding": "p" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    before = row_counts()

    if encoding == "json":
        response = send(world, endpoint, data=padded, format="json")
    elif encoding == "form":
        from urllib.parse import urlencode

        response = send(world, endpoint, data=urlencode(padded), content_type="application/x-www-form-urlencoded")
    else:
        response = send(world, endpoint, data=padded, format="multipart")

    body = refused(response, 413, "detail")
    assert f"limit is {256 * 1024} bytes" in body["detail"]
    assert row_counts() == before


# --- ids in paths --------------------------------------------------------------------------------

BAD_PATHS = [
    ("get", "/api/replies/abc/"),
    ("get", "/api/replies/-1/"),
    ("get", "/api/replies/1.5/"),
    ("get", "/api/replies/0x1/"),
    ("get", "/api/replies/%C2%B2/"),  # a superscript two
    ("get", "/api/replies/%D9%A1/"),  # an Arabic-Indic one
    ("get", "/api/threads/-1/"),
    ("get", "/api/threads/abc/"),
    ("get", "/api/threads/1e3/summary/"),
    ("get", "/api/topics/no-such-topic/"),
    ("get", "/api/topics/no-such-topic/summary/"),
    ("get", "/api/topics/%00/"),
    ("get", "/api/topics/%00/summary/"),
    ("get", "/api/topics/%00/position/"),
    ("put", "/api/topics/%00/position/"),
    ("patch", "/api/replies/abc/"),
    ("delete", "/api/replies/-1/"),
    ("post", "/api/replies/1.5/vote/"),
    ("delete", "/api/replies/abc/vote/"),
    ("post", "/api/replies/abc/flag/"),
    ("post", "/api/replies/-1/flag/"),
    ("get", "/api/replies/0/"),
    ("post", "/api/replies/0/vote/"),
    ("post", "/api/replies/987654321/flag/"),
]


@pytest.mark.parametrize("method, path", BAD_PATHS, ids=[f"{m}-{p}" for m, p in BAD_PATHS])
def test_a_path_naming_nothing_is_a_json_404(world, method, path):
    before = row_counts()

    response = getattr(world.alice, method)(path, {"value": 1, "reason": "spam", "stance": "pro-tester"}, format="json")

    refused(response, 404, "detail")
    assert row_counts() == before


HUGE_IDS = [2**63 - 1, 2**63, 2**64, 10**30]
HUGE_PATHS = [
    ("get", "/api/replies/{}/"),
    ("patch", "/api/replies/{}/"),
    ("delete", "/api/replies/{}/"),
    ("post", "/api/replies/{}/vote/"),
    ("delete", "/api/replies/{}/vote/"),
    ("post", "/api/replies/{}/flag/"),
    ("get", "/api/threads/{}/"),
    ("get", "/api/threads/{}/summary/"),
]


@pytest.mark.parametrize("method, template", HUGE_PATHS, ids=[f"{m}-{t}" for m, t in HUGE_PATHS])
@pytest.mark.parametrize("big", HUGE_IDS, ids=["int64-max", "int64-overflow", "uint64-overflow", "huge"])
def test_an_id_beyond_64_bits_in_a_path_is_a_404_not_a_500(world, method, template, big):
    before = row_counts()

    response = getattr(world.alice, method)(
        template.format(big), {"value": 1, "reason": "spam", "body": "edited"}, format="json"
    )

    refused(response, 404, "detail")
    assert row_counts() == before


@pytest.mark.parametrize(
    "query",
    [
        "thread=abc",
        "thread=NaN",
        "thread=Infinity",
        "parent=1e400x",
        "ordering=sideways",
    ],
)
def test_a_malformed_list_filter_is_a_400_naming_it(world, query):
    response = world.anon.get(f"/api/replies/?{query}")

    refused(response, 400, query.split("=")[0])


@pytest.mark.parametrize(
    "path",
    [
        "/api/replies/?thread=100000000000000000000000000000",
        "/api/replies/?parent=-1",
        "/api/replies/?author=%00",
        "/api/replies/?topic=%00",
        "/api/replies/?stance=%00",
        "/api/threads/?author=%00",
        "/api/threads/?topic=sora%00leak",
        "/api/replies/?author=%ED%A0%80",  # the UTF-8 bytes of a lone surrogate
    ],
)
def test_an_impossible_filter_value_matches_nothing_or_is_refused(world, path):
    # NUL cannot even be sent to PostgreSQL as a parameter: it must not become a 500.
    response = world.anon.get(path)

    assert response.status_code in (200, 400), f"{response.status_code}: {response.content[:300]!r}"
    assert response["Content-Type"] == "application/json"
    if response.status_code == 200:
        assert response.json()["results"] == []


# --- 404 / 405 / 500 are JSON under /api/ --------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/nothing-here/", "/api/nothing-here", "/api/replies/1/nonsense/", "/api/v2/"])
def test_an_unknown_api_path_is_a_json_404(world, path):
    response = world.anon.get(path)

    assert refused(response, 404, "detail") == {"detail": "Not found."}


def test_outside_the_api_a_404_stays_an_html_page(world):
    response = world.anon.get("/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unsupported_method_is_a_json_405(world):
    response = world.alice.put(f"/api/replies/{world.reply.pk}/", {"body": "x"}, format="json")

    refused(response, 405, "detail")


@pytest.fixture
def unguarded(settings):
    """A client that answers with the server's response instead of re-raising the view's exception."""
    settings.DEBUG = False
    return APIClient(raise_request_exception=False)


def test_an_unexpected_exception_is_a_json_500_without_the_traceback(world, unguarded, monkeypatch):
    def boom():
        raise RuntimeError("secret internals: /srv/forum/db.py line 42")

    monkeypatch.setattr(selectors, "topic_list", boom)

    response = unguarded.get("/api/topics/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Internal server error."}
    assert b"secret internals" not in response.content


def test_an_exception_in_a_write_is_a_json_500_and_writes_nothing(world, settings, monkeypatch, author):
    settings.DEBUG = False
    real_insert = replies.insert_reply

    def insert_then_fail(**kwargs):
        real_insert(**kwargs)
        raise RuntimeError("after the insert")

    monkeypatch.setattr(replies, "insert_reply", insert_then_fail)
    client = client_for(author)
    client.raise_request_exception = False
    before = row_counts()

    response = client.post("/api/threads/", thread_payload(), format="json")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert row_counts() == before  # the service's transaction rolled the thread and its reply back


def test_register_and_token_refuse_nul_in_credentials(world):
    # Both would reach a username lookup; PostgreSQL refuses NUL in a query parameter.
    before = row_counts()

    register = world.anon.post("/api/auth/register/", {"username": "ca\x00rol", "password": PASSWORD}, format="json")
    token = world.anon.post("/api/auth/token/", {"username": "al\x00ice", "password": PASSWORD}, format="json")
    token_password = world.anon.post("/api/auth/token/", {"username": "alice", "password": "x\x00y"}, format="json")

    refused(register, 400, "username")
    refused(token, 400, "username")
    refused(token_password, 400, "password")
    assert row_counts() == before


@pytest.mark.parametrize("value", ["²", "١", "9" * 30])
def test_an_author_filter_of_odd_digits_is_a_username_not_a_crash(value, anon, db):
    response = anon.get("/api/replies/", {"author": value})

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_unknown_api_paths_answer_json_even_with_debug_on(settings, anon, db):
    settings.DEBUG = True  # make run serves with DEBUG on, where Django ignores handler404

    response = anon.get("/api/no-such-thing/at-all/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert anon.get("/api/replies/abc/").json() == {"detail": "Not found."}


# --- never HTML under /api/, DEBUG on (make run) or off ------------------------------------------


def is_json_error(response, status):
    assert response.status_code == status, f"{response.status_code}: {response.content[:300]!r}"
    assert response["Content-Type"].split(";")[0] == "application/json", response["Content-Type"]
    assert b"<html" not in response.content.lower() and b"Traceback" not in response.content
    return response.json()


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def test_every_error_status_is_json_with_debug_on_or_off(world, debug, monkeypatch):
    # As curl asks: any type. (A browser asking for text/html gets the browsable API's pages instead.)
    curl = {"HTTP_ACCEPT": "*/*"}
    for client in (world.alice, world.anon):
        client.raise_request_exception = False

    assert (
        "JSON"
        in is_json_error(
            world.alice.post("/api/threads/", data=b'{"title": ', content_type="application/json", **curl), 400
        )["detail"]
    )
    assert is_json_error(world.alice.patch(f"/api/replies/{world.reply.pk}/", {"body": "x"}, format="json"), 403)
    assert is_json_error(world.anon.get("/api/no-such-thing/", **curl), 404) == {"detail": "Not found."}
    assert is_json_error(world.anon.get("/api/replies/987654321/", **curl), 404)
    assert is_json_error(world.alice.put(f"/api/replies/{world.reply.pk}/", {"body": "x"}, format="json"), 405)
    too_big = world.alice.post(
        "/api/threads/", data=b"{" + b" " * (1024 * 1024) + b"}", content_type="application/json"
    )
    assert "limit is" in is_json_error(too_big, 413)["detail"]

    def boom():
        raise RuntimeError("secret internals: /srv/forum/db.py line 42")

    monkeypatch.setattr(selectors, "topic_list", boom)
    crashed = world.anon.get("/api/topics/", **curl)
    assert is_json_error(crashed, 500) == {"detail": "Internal server error."}
    assert b"secret internals" not in crashed.content


@pytest.mark.parametrize(
    "raised, status",
    [
        (SuspiciousOperation("odd"), 400),
        (BadRequest("odd"), 400),
        (RequestDataTooBig("big"), 413),
    ],
    ids=["suspicious-operation", "bad-request", "request-data-too-big"],
)
def test_a_views_bad_request_exceptions_are_json_with_debug_on_or_off(world, debug, monkeypatch, raised, status):
    # Django draws its HTML debug page for these with DEBUG on, and answers them only through handler400 off.
    def refuse():
        raise raised

    monkeypatch.setattr(selectors, "topic_list", refuse)
    world.anon.raise_request_exception = False

    body = is_json_error(world.anon.get("/api/topics/"), status)
    assert ("limit is" in body["detail"]) if status == 413 else body == {"detail": "Bad request."}


def test_a_refused_host_is_a_json_400_even_with_debug_on(settings, anon, db):
    # DisallowedHost is raised by a middleware, before any view: the page Django drew is replaced.
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["testserver"]
    anon.raise_request_exception = False

    response = anon.get("/api/topics/", headers={"host": "evil.example.com"})

    assert is_json_error(response, 400) == {"detail": "Bad request."}


def test_outside_the_api_debug_pages_are_left_alone(settings, anon, db):
    settings.DEBUG = True

    response = anon.get("/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
