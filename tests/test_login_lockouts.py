"""Guessing a password stops paying, and never locks the owner out: lockouts per username and address.

django-axes counts failed logins in the database (forum/lockout.py), so every worker sees the same count
with or without Redis.
"""

import datetime

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.support.factories import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER, OWNER = "198.51.100.7", "203.0.113.20"


def login(client, username, password, address):
    return client.post(
        "/api/auth/token/", {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


@pytest.fixture
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    settings.LOGIN_FAILURE_WINDOW = 600
    return settings


def test_guessing_locks_that_username_from_that_address_even_for_the_right_password(limits, anon, author):
    for n in range(2):
        assert login(anon, "alice", f"guess-{n}", ATTACKER).status_code == 400
    assert login(anon, "alice", "guess-2", ATTACKER).status_code == 429  # the failure that reaches the limit

    refused = login(anon, "alice", PASSWORD, ATTACKER)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "600"
    assert refused["Content-Type"] == "application/json"
    assert "failed logins" in refused.json()["detail"]


def test_the_owner_still_logs_in_from_another_address(limits, anon, author):
    for n in range(3):
        login(anon, "alice", f"guess-{n}", ATTACKER)

    assert login(anon, "alice", PASSWORD, OWNER).status_code == 200


def test_one_address_trying_many_usernames_is_locked_across_them(limits, anon, author, other):
    for n in range(5):  # no single name reaches its limit of 3; the address reaches its 6 with the next
        assert login(anon, f"user{n % 3}", "guess", ATTACKER).status_code == 400
    assert login(anon, "user9", "guess", ATTACKER).status_code == 429

    assert login(anon, "bob", PASSWORD, ATTACKER).status_code == 429
    assert login(anon, "bob", PASSWORD, OWNER).status_code == 200


def test_another_spelling_of_the_name_counts_as_the_same_name(limits, anon, author):
    for username in ("ALICE", "Alice", "alice"):
        login(anon, username, "guess", ATTACKER)

    assert login(anon, "aLiCe", PASSWORD, ATTACKER).status_code == 429


def test_the_count_lives_in_the_database_not_in_a_cache(limits, anon, author):
    for n in range(3):
        login(anon, "alice", f"guess-{n}", ATTACKER)
        cache.clear()  # as if each failure had reached another worker, without Redis

    assert AccessAttempt.objects.get(username="alice", ip_address=ATTACKER).failures_since_start == 3
    assert login(anon, "alice", PASSWORD, ATTACKER).status_code == 429


def test_a_lockout_ends_after_the_window(limits, anon, author):
    for n in range(3):
        login(anon, "alice", f"guess-{n}", ATTACKER)
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(seconds=601))

    assert login(anon, "alice", PASSWORD, ATTACKER).status_code == 200


def test_moderators_see_and_lift_lockouts_in_the_admin(limits, anon, author, moderator, client):
    for n in range(3):
        login(anon, "alice", f"guess-{n}", ATTACKER)
    client.force_login(moderator)  # staff in the Moderators group, whose migration grants axes' pages
    attempt = AccessAttempt.objects.get(username="alice")

    listing = client.get(reverse("admin:axes_accessattempt_changelist"))
    lifted = client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )

    assert listing.status_code == 200 and b"alice" in listing.content
    assert lifted.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert login(anon, "alice", PASSWORD, ATTACKER).status_code == 200
