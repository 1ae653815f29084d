"""What the schemathesis fuzzer (tests/test_fuzzing.py) found, each as the exact request that failed.

Every one of these was a 500 on at least one of the two databases; each answer must be a JSON 4xx or
an ordinary 200, on SQLite and on PostgreSQL alike.
"""

import warnings
from datetime import UTC, datetime

import pytest
from django.core.cache.backends.base import CacheKeyWarning

from forum.models import ModerationAction
from tests.support.clients import client_for

HUGE = "99999999999999999999"  # above the 64-bit range of every id column


def _assert_json_answer(response, *, statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def _assert_empty_list_or_400(response, field):
    body = _assert_json_answer(response, statuses=(200, 400))
    if response.status_code == 200:
        assert body["results"] == []
    else:
        assert field in body


# Found on SQLite: GET /api/replies/?thread=-5.5418562710406924e+135 answered 500 (OverflowError:
# Python int too large to convert to SQLite INTEGER). The thread and parent filters take any number up
# to 1e50 and the author filter any string of digits, and SQLite cannot bind an integer beyond 64 bits.
# PostgreSQL answered 200 with no results.
@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/replies/?thread={HUGE}", "thread"),
        (f"/api/replies/?thread=-{HUGE}", "thread"),
        ("/api/replies/?thread=-5.5418562710406924e%2B135", "thread"),
        ("/api/replies/?thread=1e40", "thread"),
        (f"/api/replies/?parent={HUGE}", "parent"),
        (f"/api/replies/?author={HUGE}", "author"),
        (f"/api/threads/?author={HUGE}", "author"),
    ],
)
def test_an_id_filter_beyond_64_bits_matches_nothing_or_is_refused(anon, thread, url, field):
    _assert_empty_list_or_400(anon.get(url), field)


# Found on PostgreSQL: GET /api/moderation/log/?until=0144-01-11T14:42:42+22:00 answered 500 (DataError:
# time zone displacement out of range). Python accepts UTC offsets up to ±23:59, PostgreSQL only up to
# ±15:59. And on SQLite, which converts the value to UTC in Python, a date at the edge of the calendar
# overflowed instead (OverflowError: date value out of range).
@pytest.mark.parametrize(
    "query",
    [
        "until=0144-01-11T14:42:42%2B22:00",
        "until=2020-01-01T00:00:00%2B22:00",
        "since=2020-01-01T00:00:00-16:00",
        "since=0001-01-01T00:00:00%2B01:00",
        "until=9999-12-31T23:59:59-01:00",
    ],
)
def test_moderation_log_dates_with_extreme_offsets_are_answered(moderator, query):
    response = client_for(moderator).get(f"/api/moderation/log/?{query}")
    body = _assert_json_answer(response, statuses=(200, 400))
    if response.status_code == 400:
        assert {"since", "until"} & set(body)


def test_an_offset_beyond_postgresqls_range_still_names_its_instant(moderator):
    """If such an offset is accepted rather than refused, it means what ISO 8601 says: +22:00 is 22 hours ahead."""
    ModerationAction.objects.create(
        actor=moderator,
        action=ModerationAction.Action.HIDE,
        target_type="reply",
        target_id=1,
        target_repr="a reply",
        created_at=datetime(2020, 1, 1, 1, 0, tzinfo=UTC),
    )
    client = client_for(moderator)
    before = client.get("/api/moderation/log/?until=2020-01-01T00:00:00%2B22:00")  # 2019-12-31 02:00 UTC
    after = client.get("/api/moderation/log/?until=2020-01-02T00:00:00%2B22:00")  # 2020-01-01 02:00 UTC
    if before.status_code == 200:
        assert before.json()["results"] == []
    if after.status_code == 200:
        assert len(after.json()["results"]) == 1


# Found on PostgreSQL: GET /api/topics/a%00b/ answered 500 (DataError: PostgreSQL text fields cannot
# contain NUL (0x00) bytes): the topic's slug in the path goes to the database as it came.
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/topics/a%00b/"),
        ("patch", "/api/topics/a%00b/"),
        ("get", "/api/topics/a%00b/summary/"),
        ("get", "/api/topics/a%00b/summary/history/"),
        ("get", "/api/topics/a%00b/common-ground/"),
        ("get", "/api/topics/a%00b/position/"),
        ("put", "/api/topics/a%00b/position/"),
    ],
)
def test_a_nul_in_a_topic_slug_is_not_found(admin_user, topic, method, path):
    client = client_for(admin_user)  # staff: the PATCH gets past the permission check to the lookup
    response = getattr(client, method)(path, {"stance": "pro-tester", "title": "x"}, format="json")
    body = _assert_json_answer(response, statuses=(404,))
    assert "detail" in body


# Found on both databases (a warning, not a 500): POST /api/auth/token/ with a username such as
# "c\x16j" raised CacheKeyWarning, "Cache key contains characters that will cause errors if used with
# memcached": the failed-login counter's cache key held the username as typed, spaces and control
# characters included. The counts now live in the database (forum/lockout.py); no such key may come back.
@pytest.mark.django_db
def test_a_failed_login_with_an_odd_username_makes_a_portable_cache_key(anon):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CacheKeyWarning)
        response = anon.post("/api/auth/token/", {"username": "no such\x16user", "password": "x"}, format="json")
    assert response.status_code == 400
    assert [str(w.message) for w in caught if issubclass(w.category, CacheKeyWarning)] == []


# Found on both databases after the catch-all JSON 404 for unknown /api/ paths (config.urls, api_not_found)
# arrived: PATCH /api/replies/%C2%84/ with a valid token answered Django's HTML "403 Forbidden" CSRF page.
# A path the router does not match (an id that is not a number) falls through to api_not_found, a plain
# Django view that CsrfViewMiddleware guards, so every unsafe method was refused as a CSRF failure, in
# HTML, before the view could say 404. Django's test client skips CSRF checks unless asked to enforce them.
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/replies/%C2%84/", "/api/replies/abc/vote/", "/api/topics/a%20b/position/"])
def test_an_unsafe_method_on_an_unknown_api_path_is_a_json_404(author, method, path):
    client = client_for(author)
    client.handler.enforce_csrf_checks = True  # as a real server does
    response = getattr(client, method)(path, {"value": 1}, format="json")
    body = _assert_json_answer(response, statuses=(404,))
    assert body == {"detail": "Not found."}
