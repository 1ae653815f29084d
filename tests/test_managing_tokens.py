"""Users manage their logins: list and revoke their tokens, change their password, and no key is kept in clear."""

import datetime
import hashlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from forum.models import ApiToken
from tests.support.clients import client_for
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKENS = "/api/auth/tokens/"
PASSWORD_URL = "/api/auth/password/"
NEW_PASSWORD = "Another-Sora-Leak-7"


def signed_in(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def login(anon, password=PASSWORD):
    return anon.post("/api/auth/token/", {"username": "alice", "password": password}, format="json")


# --- listing and revoking ------------------------------------------------------------------------


def test_tokens_lists_the_callers_tokens_marking_the_current_one_and_never_a_secret(author, as_author, other):
    phone = client_for(author)
    client_for(other)  # someone else's: never listed

    response = as_author.get(TOKENS)

    assert response.status_code == 200
    rows = response.json()
    assert {tuple(sorted(r)) for r in rows} == {("created_at", "current", "expires_at", "id", "last_used_at")}
    mine = {t.pk for t in ApiToken.objects.filter(user=author)}
    assert {r["id"] for r in rows} == mine and len(rows) == 2
    assert [r["current"] for r in rows].count(True) == 1
    assert phone.token_key not in response.content.decode() and as_author.token_key not in response.content.decode()


def test_an_expired_token_is_neither_listed_nor_accepted(author, as_author):
    stale = client_for(author)
    ApiToken.objects.filter(user=author).exclude(pk=current_id(as_author)).update(
        expiry=timezone.now() - datetime.timedelta(seconds=1)
    )

    assert stale.get("/api/me/").status_code == 401
    assert [r["id"] for r in as_author.get(TOKENS).json()] == [current_id(as_author)]


def current_id(client) -> int:
    return next(r["id"] for r in client.get(TOKENS).json() if r["current"])


def test_revoking_a_token_logs_that_device_out_only(author, as_author):
    phone = client_for(author)
    phone_id = current_id(phone)

    response = as_author.delete(f"{TOKENS}{phone_id}/")

    assert response.status_code == 204
    assert phone.get("/api/me/").status_code == 401
    assert as_author.get("/api/me/").status_code == 200


def test_someone_elses_token_cannot_be_revoked(as_author, other):
    theirs = client_for(other)

    response = as_author.delete(f"{TOKENS}{current_id(theirs)}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such token."}
    assert theirs.get("/api/me/").status_code == 200


def test_tokens_need_a_token(anon):
    assert anon.get(TOKENS).status_code == 401
    assert anon.delete(f"{TOKENS}1/").status_code == 401


def test_the_last_use_is_recorded_at_most_once_a_minute(author, as_author):
    token = ApiToken.objects.get(user=author)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - datetime.timedelta(minutes=5))

    as_author.get("/api/me/")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    as_author.get("/api/me/")

    assert timezone.now() - first < datetime.timedelta(seconds=30)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


# --- changing the password ---------------------------------------------------------------------------


def test_a_password_change_answers_a_fresh_token_and_ends_every_earlier_one(author, as_author, anon):
    phone = client_for(author)

    response = as_author.post(PASSWORD_URL, {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 200, response.content
    fresh = signed_in(response.json()["token"])
    assert fresh.get("/api/me/").json()["username"] == "alice"
    assert as_author.get("/api/me/").status_code == 401
    assert phone.get("/api/me/").status_code == 401
    assert login(anon).status_code == 400
    assert login(anon, NEW_PASSWORD).status_code == 200


def test_a_wrong_current_password_changes_nothing(author, as_author):
    response = as_author.post(PASSWORD_URL, {"old_password": "guess", "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 400
    assert "old_password" in response.json()
    author.refresh_from_db()
    assert author.check_password(PASSWORD)
    assert as_author.get("/api/me/").status_code == 200


@pytest.mark.parametrize("new_password", ["short", "password123", "alice@example.org", "12345678901"])
def test_a_weak_new_password_is_refused_by_djangos_validators(author, as_author, new_password):
    response = as_author.post(PASSWORD_URL, {"old_password": PASSWORD, "new_password": new_password}, format="json")

    assert response.status_code == 400
    assert "new_password" in response.json()
    author.refresh_from_db()
    assert author.check_password(PASSWORD)


def test_a_password_change_needs_a_token(anon, author):
    response = anon.post(PASSWORD_URL, {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 401


# --- no key in clear ------------------------------------------------------------------------------------


def test_no_issued_key_is_found_anywhere_in_the_database(author, anon):
    keys = [login(anon).json()["token"] for _ in range(2)]
    keys.append(client_for(author).token_key)

    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dump.extend(repr(row) for row in cursor.fetchall())
    text = "\n".join(dump)
    for key in keys:
        assert key[:16] not in text  # not the key, nor any stretch of it beyond knox's 15-character index


def test_clear_text_keys_of_drf_tokens_become_digests_that_still_log_in(author):
    migration = __import__("forum.migrations.0006_api_tokens", fromlist=["keys_to_digests"])
    old_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id bigint, created timestamp)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [old_key, author.pk, timezone.now()])

    # The function reads only the editor's connection; a real editor cannot open inside the test's transaction
    # on SQLite.
    migration.keys_to_digests(apps, SimpleNamespace(connection=connection))

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)
    stored = ApiToken.objects.get(user=author)
    assert stored.digest == hashlib.sha512(old_key.encode()).hexdigest()
    assert signed_in(old_key).get("/api/me/").json()["username"] == "alice"
