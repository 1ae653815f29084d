"""Accounts: register, exchange credentials for a token, ask who I am."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from forum.models import ApiToken
from tests.support.factories import PASSWORD

REGISTER = "/api/auth/register/"
TOKEN = "/api/auth/token/"
ME = "/api/me/"

User = get_user_model()


# --- register --------------------------------------------------------------------------------


def test_register_creates_a_user_and_answers_id_and_username(anon, db):
    response = anon.post(
        REGISTER, {"username": "carol", "password": "Tr1cky-Sora-Leak", "email": "carol@example.org"}, format="json"
    )

    assert response.status_code == 201, response.content
    user = User.objects.get(username="carol")
    assert response.json() == {"id": user.pk, "username": "carol"}
    assert user.email == "carol@example.org"
    assert user.check_password("Tr1cky-Sora-Leak")


def test_register_without_email_is_fine(anon, db):
    response = anon.post(REGISTER, {"username": "dave", "password": "Tr1cky-Sora-Leak"}, format="json")

    assert response.status_code == 201, response.content
    assert User.objects.filter(username="dave").exists()


def test_registered_user_can_obtain_a_token_and_see_themselves(anon, db):
    anon.post(REGISTER, {"username": "erin", "password": "Tr1cky-Sora-Leak"}, format="json")

    token = anon.post(TOKEN, {"username": "erin", "password": "Tr1cky-Sora-Leak"}, format="json").json()["token"]
    anon.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = anon.get(ME)

    assert response.status_code == 200
    assert response.json()["username"] == "erin"


@pytest.mark.parametrize("username", ["alice", "ALICE", "Alice"])
def test_register_refuses_a_taken_username_in_any_case(anon, author, username):
    response = anon.post(REGISTER, {"username": username, "password": "Tr1cky-Sora-Leak"}, format="json")

    assert response.status_code == 400
    assert "username" in response.json()
    assert User.objects.filter(username__iexact="alice").count() == 1


@pytest.mark.parametrize(
    "password",
    [
        "123",  # too short, numeric
        "password",  # common
        "12345678901",  # entirely numeric
        "frank1234",  # too similar to the username
    ],
)
def test_register_refuses_a_weak_password_and_creates_nobody(anon, db, password):
    response = anon.post(REGISTER, {"username": "frank", "password": password}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert "password" in body
    assert body["password"]  # at least one reason
    assert not User.objects.filter(username="frank").exists()


@pytest.mark.parametrize(
    ("payload", "missing"),
    [
        ({}, {"username", "password"}),
        ({"username": "gina"}, {"password"}),
        ({"password": "Tr1cky-Sora-Leak"}, {"username"}),
    ],
)
def test_register_names_every_missing_field(anon, db, payload, missing):
    users_before = User.objects.count()

    response = anon.post(REGISTER, payload, format="json")

    assert response.status_code == 400
    assert missing <= set(response.json())
    assert User.objects.count() == users_before


def test_register_refuses_an_invalid_username(anon, db):
    response = anon.post(REGISTER, {"username": "no spaces!", "password": "Tr1cky-Sora-Leak"}, format="json")

    assert response.status_code == 400
    assert "username" in response.json()


# --- token -----------------------------------------------------------------------------------


def test_token_for_good_credentials_expires_after_the_configured_days(anon, author, settings):
    before = timezone.now()
    response = anon.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    (stored,) = ApiToken.objects.filter(user=author)
    assert body["token"] not in {stored.digest, stored.token_key}  # the key itself is never stored
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    assert before + ttl <= datetime.datetime.fromisoformat(body["expires_at"]) <= timezone.now() + ttl


def test_each_login_gets_its_own_token_and_both_work(anon, author):
    first = anon.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json").json()["token"]
    second = anon.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json").json()["token"]

    assert first != second
    assert ApiToken.objects.filter(user=author).count() == 2
    for key in (first, second):
        anon.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert anon.get(ME).json()["username"] == "alice"


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "alice", "password": "wrong-password"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "alice", "password": ""},
    ],
)
def test_token_refuses_bad_credentials(anon, author, payload):
    response = anon.post(TOKEN, payload, format="json")

    assert response.status_code == 400
    assert "token" not in response.json()
    assert not ApiToken.objects.filter(user=author).exists()


def test_token_refuses_missing_fields(anon, db):
    response = anon.post(TOKEN, {}, format="json")

    assert response.status_code == 400
    assert {"username", "password"} <= set(response.json())


# --- me --------------------------------------------------------------------------------------


def test_me_for_a_plain_user(as_author, author):
    response = as_author.get(ME)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == author.pk
    assert body["username"] == "alice"
    assert body["is_moderator"] is False


def test_me_for_a_moderator(as_moderator, moderator):
    response = as_moderator.get(ME)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == moderator.pk
    assert body["username"] == "mod"
    assert body["is_moderator"] is True


def test_me_anonymous_is_401(anon, db):
    response = anon.get(ME)

    assert response.status_code == 401
    assert "detail" in response.json()


def test_me_with_an_unknown_token_is_401(anon, db):
    anon.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert anon.get(ME).status_code == 401
