"""Logging out ends the token of that client: every copy of it is out, other devices stay in, a new login works."""

import pytest
from rest_framework.test import APIClient

from forum.models import ApiToken
from tests.support.clients import client_for
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGOUT = "/api/auth/logout/"


def test_logout_revokes_the_token(author, as_author):
    old_key = as_author.token_key
    assert as_author.get("/api/me/").status_code == 200

    response = as_author.post(LOGOUT)

    assert response.status_code == 204
    assert not ApiToken.objects.filter(user=author).exists()
    # The same token, in this client or any other copy of it, no longer authenticates.
    again = as_author.get("/api/me/")
    assert again.status_code == 401
    assert again.json()["detail"]
    copy = APIClient()
    copy.credentials(HTTP_AUTHORIZATION=f"Token {old_key}")
    assert copy.post("/api/threads/", {}, format="json").status_code == 401


def test_a_new_login_after_logout_gives_a_new_token_that_works(author, as_author, anon):
    old_key = as_author.token_key
    assert as_author.post(LOGOUT).status_code == 204

    response = anon.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    new_key = response.json()["token"]
    assert new_key != old_key
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {new_key}")
    assert fresh.get("/api/me/").json()["username"] == "alice"


def test_logging_out_twice_is_refused_the_second_time(as_author):
    assert as_author.post(LOGOUT).status_code == 204

    assert as_author.post(LOGOUT).status_code == 401


def test_logout_leaves_other_users_signed_in(author, other, as_author):
    as_other = client_for(other)

    assert as_author.post(LOGOUT).status_code == 204

    assert as_other.get("/api/me/").json()["username"] == "bob"
    assert ApiToken.objects.filter(user=other).exists()


def test_logout_leaves_the_same_users_other_devices_signed_in(author, as_author):
    phone = client_for(author)

    assert as_author.post(LOGOUT).status_code == 204

    assert as_author.get("/api/me/").status_code == 401
    assert phone.get("/api/me/").json()["username"] == "alice"


def test_anonymous_logout_is_a_401(anon, author):
    response = anon.post(LOGOUT)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Token")


def test_an_unknown_token_cannot_log_out(author):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert client.post(LOGOUT).status_code == 401


def test_logout_also_ends_a_browser_session(author):
    browser = APIClient()
    browser.force_login(author)  # the browsable API signs in with a session, not a token
    assert browser.get("/api/me/").status_code == 200

    assert browser.post(LOGOUT).status_code == 204

    assert browser.get("/api/me/").status_code == 401


def test_only_post_logs_out(as_author, author):
    # A GET (a prefetching browser, an <img src>) must not log anyone out.
    assert as_author.get(LOGOUT).status_code == 405

    assert ApiToken.objects.filter(user=author).exists()
