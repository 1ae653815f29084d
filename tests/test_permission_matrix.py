"""Who may write what: every write endpoint against every kind of caller, one row per pair, one world per row.

The roles: nobody signed in; another user; the author of the targeted reply; a moderator (a member of the
"Moderators" group made by forum's migration, not staff); a topic manager (the "Topic managers" group made by
discussions' migration 0007); a staff user without any right; and a user a moderator suspended. The suspended
user is a topic manager and a moderator and targets a reply of their own, so that their 403 can only come from the
suspension, not from authorship or rights.
"""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from discussions import services
from discussions.models import Flag, Position, Reply, ReplyRevision, Stance, Thread, Topic, Vote
from forum.services import user_suspend
from tests.support.clients import client_for
from tests.support.factories import TopicFactory, TopicManagerFactory, UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "other", "author", "moderator", "manager", "staff", "suspended")


def build_world():
    topic = TopicFactory(slug="sora-leak")
    opener = UserFactory(username="opener")
    users = {
        "other": UserFactory(username="bob"),
        "author": UserFactory(username="alice"),
        "moderator": UserFactory(username="mod"),
        "staff": UserFactory(username="staffer", is_staff=True),
        "manager": TopicManagerFactory(username="tess"),
        # A topic manager and a moderator, so that even on topic writes their 403 can only come from the suspension.
        "suspended": TopicManagerFactory(username="sam"),
    }
    for role in ("moderator", "suspended"):
        users[role].groups.add(Group.objects.get(name="Moderators"))
    thread = make_thread(topic=topic, author=opener, title="Unpaid labour", body="Testers worked free.")
    target = make_reply(thread=thread, author=users["author"], body="The author's reply.")
    own = make_reply(thread=thread, author=users["suspended"], body="Written before the suspension.")
    # Everyone already voted, so retracting has something to retract.
    for role, user in users.items():
        services.vote_cast(actor=user, reply_id=(own if role == "suspended" else target).pk, value=1)
    user_suspend(actor=users["moderator"], user=users["suspended"], reason="Brigading the leak threads")
    return SimpleNamespace(topic=topic, thread=thread, target=target, own=own, users=users)


def reply_for(world, role):
    return world.own if role == "suspended" else world.target


# endpoint: (method, path, body); paths and bodies are built for the role from the world.
ENDPOINTS = {
    "create-thread": (
        "post",
        lambda w, role: "/api/threads/",
        lambda w, role: {"topic": "sora-leak", "title": f"By {role}", "body": "Opening.", "stance": "pro-tester"},
    ),
    "create-reply": (
        "post",
        lambda w, role: "/api/replies/",
        lambda w, role: {"thread": w.thread.pk, "body": f"By {role}.", "stance": "pro-openai"},
    ),
    "edit-reply": (
        "patch",
        lambda w, role: f"/api/replies/{reply_for(w, role).pk}/",
        lambda w, role: {"body": f"Edited by {role}."},
    ),
    "withdraw-reply": ("delete", lambda w, role: f"/api/replies/{reply_for(w, role).pk}/", None),
    "vote": ("post", lambda w, role: f"/api/replies/{reply_for(w, role).pk}/vote/", lambda w, role: {"value": -1}),
    "retract-vote": ("delete", lambda w, role: f"/api/replies/{reply_for(w, role).pk}/vote/", None),
    "flag": ("post", lambda w, role: f"/api/replies/{reply_for(w, role).pk}/flag/", lambda w, role: {"reason": "spam"}),
    "declare-position": (
        "put",
        lambda w, role: "/api/topics/sora-leak/position/",
        lambda w, role: {"stance": "pro-tester"},
    ),
    "create-topic": (
        "post",
        lambda w, role: "/api/topics/",
        lambda w, role: {
            "slug": "new-debate",
            "title": "A new debate",
            "question": "Yes or no?",
            "stances": [{"slug": "yes", "label": "Yes"}, {"slug": "no", "label": "No"}],
        },
    ),
    "edit-topic": ("patch", lambda w, role: "/api/topics/sora-leak/", lambda w, role: {"title": "Renamed"}),
    "lock-topic": ("patch", lambda w, role: "/api/topics/sora-leak/", lambda w, role: {"is_locked": True}),
    "logout": ("post", lambda w, role: "/api/auth/logout/", None),
}

# Expected status per role, in the order of ROLES:
#            anonymous  other  author  moderator  manager  staff  suspended
EXPECTED = {
    # Anyone signed in and not suspended takes part in the debate.
    "create-thread": (401, 201, 201, 201, 201, 201, 403),
    "create-reply": (401, 201, 201, 201, 201, 201, 403),
    # A reply is edited and withdrawn by its author or a moderator; staff alone is not a moderator.
    "edit-reply": (401, 403, 200, 200, 403, 403, 403),
    "withdraw-reply": (401, 403, 204, 204, 403, 403, 403),
    "vote": (401, 200, 200, 200, 200, 200, 403),
    "retract-vote": (401, 200, 200, 200, 200, 200, 403),
    "flag": (401, 201, 201, 201, 201, 201, 403),
    "declare-position": (401, 200, 200, 200, 200, 200, 403),
    # Topics are the topic managers' business: neither moderating nor being staff grants it.
    "create-topic": (401, 403, 403, 403, 201, 403, 403),
    "edit-topic": (401, 403, 403, 403, 200, 403, 403),
    # Locking a topic is a moderator's act; managing topics does not include it.
    "lock-topic": (401, 403, 403, 200, 403, 403, 403),
    # Logging out only deletes the caller's own token, so a suspended user may still do it (a suspected
    # stolen token must stay revocable): the one write a suspension does not stop.
    "logout": (401, 204, 204, 204, 204, 204, 204),
}
ROWS = [
    pytest.param(endpoint, role, expected, id=f"{endpoint}-{role}-{expected}")
    for endpoint, codes in EXPECTED.items()
    for role, expected in zip(ROLES, codes, strict=True)
]


def footprint(world):
    """Everything a write could change, to show a refused write changed nothing."""
    counts = {m.__name__: m.objects.count() for m in (Topic, Stance, Thread, Reply, ReplyRevision, Flag, Position)}
    counts["active votes"] = Vote.objects.filter(retracted_at=None).count()
    replies = {r.pk: (r.body, r.state, r.upvotes, r.downvotes) for r in Reply.objects.order_by("pk")}
    topic = Topic.objects.values_list("title", "is_locked").get(slug="sora-leak")
    return counts, replies, topic


@pytest.mark.parametrize("endpoint, role, expected", ROWS)
def test_permission_matrix(endpoint, role, expected):
    world = build_world()
    client = APIClient() if role == "anonymous" else client_for(world.users[role])
    method, path, body = ENDPOINTS[endpoint]
    before = footprint(world)

    kwargs = {"format": "json"} if body is None else {"data": body(world, role), "format": "json"}
    response = getattr(client, method)(path(world, role), **kwargs)

    assert response.status_code == expected, f"{response.status_code}: {response.content[:300]!r}"
    if expected >= 400:
        assert response["Content-Type"] == "application/json"
        detail = response.json()["detail"]
        if role == "suspended":
            assert "suspended" in detail  # the refusal says why, so the user is not left guessing
        assert footprint(world) == before
