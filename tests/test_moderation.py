"""Moderators keep order: flags reach their queue, hides and restores move every count, suspensions stop writes."""

import datetime

import pytest
from django.utils import timezone

from discussions import services
from discussions.audit import tallies_audit
from discussions.models import Flag, Reply
from forum import services as forum_services
from forum.errors import NotAllowed
from forum.models import ModerationAction, Suspension
from tests.support.clients import client_for
from tests.support.factories import UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db


def flag(client, reply, **body):
    return client.post(f"/api/replies/{reply.pk}/flag/", body, format="json")


# --- roles ---------------------------------------------------------------------------------------


def test_me_says_who_moderates(moderator, author):
    staff = UserFactory(username="staffer", is_staff=True)
    boss = UserFactory(username="boss", is_staff=True, is_superuser=True)

    assert client_for(moderator).get("/api/me/").json()["is_moderator"] is True
    assert client_for(boss).get("/api/me/").json()["is_moderator"] is True
    assert client_for(staff).get("/api/me/").json()["is_moderator"] is False
    assert client_for(author).get("/api/me/").json()["is_moderator"] is False


def test_staff_outside_the_group_cannot_moderate(reply):
    staff = UserFactory(username="staffer", is_staff=True)

    with pytest.raises(NotAllowed):
        services.reply_hide(actor=staff, reply_id=reply.pk, reason="spam")
    reply.refresh_from_db()
    assert reply.state == Reply.State.VISIBLE
    assert not ModerationAction.objects.exists()


# --- flags ---------------------------------------------------------------------------------------


def test_a_flag_lands_in_the_queue(reply, as_author, author):
    response = flag(as_author, reply, reason="off-topic", text="Not about the leak.")

    assert response.status_code == 201
    assert response.json()["reason"] == "off-topic"
    stored = Flag.objects.get()
    assert (stored.reporter, stored.reply_id, stored.state, stored.text) == (
        author,
        reply.pk,
        "open",
        "Not about the leak.",
    )


def test_one_open_flag_per_user_and_reply(reply, as_author, as_other):
    assert flag(as_author, reply, reason="spam").status_code == 201
    again = flag(as_author, reply, reason="abuse")

    assert again.status_code == 400
    assert "reply" in again.json()
    assert flag(as_other, reply, reason="spam").status_code == 201
    assert Flag.objects.count() == 2


def test_flagging_again_after_a_dismissal_is_allowed(reply, as_author, moderator):
    flag(as_author, reply, reason="spam")
    services.flag_dismiss(actor=moderator, flag_id=Flag.objects.get().pk)

    assert flag(as_author, reply, reason="spam").status_code == 201


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "boring"}, {"reason": ["spam"]}])
def test_a_flag_needs_a_known_reason(reply, as_author, body):
    response = flag(as_author, reply, **body)

    assert response.status_code == 400
    assert "reason" in response.json()
    assert not Flag.objects.exists()


def test_flags_need_an_account_and_a_visible_reply(reply, anon, as_author, as_other):
    assert flag(anon, reply, reason="spam").status_code == 401
    as_other.delete(f"/api/replies/{reply.pk}/")
    assert flag(as_author, reply, reason="spam").status_code == 404
    assert as_author.post("/api/replies/999999/flag/", {"reason": "spam"}, format="json").status_code == 404
    assert not Flag.objects.exists()


def test_resolving_a_flag_hides_the_reply_and_closes_every_open_flag_on_it(reply, author, other, moderator):
    first = services.flag_create(actor=author, reply_id=reply.pk, reason="abuse")
    second = services.flag_create(actor=UserFactory(username="third"), reply_id=reply.pk, reason="spam")

    services.flag_resolve(actor=moderator, flag_id=first.pk)

    reply.refresh_from_db()
    assert reply.state == Reply.State.HIDDEN
    assert set(Flag.objects.values_list("state", flat=True)) == {"resolved"}
    first.refresh_from_db()
    assert (first.handled_by, first.handled_at is not None) == (moderator, True)
    actions = list(ModerationAction.objects.order_by("id").values_list("action", "target_type", "target_id"))
    assert actions == [
        ("hide", "reply", reply.pk),
        ("resolve-flag", "flag", first.pk),
        ("resolve-flag", "flag", second.pk),
    ]


# --- hide and restore ----------------------------------------------------------------------------


def test_a_hidden_reply_vanishes_and_comes_back_exactly(topic, thread, reply, author, other, anon, moderator):
    services.vote_cast(actor=author, reply_id=reply.pk, value=1)
    make_reply(thread=thread, author=UserFactory(username="carol"), stance="pro-openai", body="Another view.")
    before = anon.get("/api/topics/sora-leak/summary/").json()
    thread_before = anon.get(f"/api/threads/{thread.pk}/").json()["reply_count"]

    services.reply_hide(actor=moderator, reply_id=reply.pk, reason="Personal attack.")

    assert anon.get(f"/api/replies/{reply.pk}/").status_code == 404
    assert reply.pk not in [r["id"] for r in anon.get(f"/api/replies/?thread={thread.pk}").json()["results"]]
    hidden = anon.get("/api/topics/sora-leak/summary/").json()
    openai = hidden["stances"][1]
    assert (openai["replies"], openai["participants"], openai["upvotes"]) == (1, 1, 0)
    assert (hidden["replies"], hidden["participants"], hidden["votes"]) == (2, 2, 0)
    assert anon.get(f"/api/threads/{thread.pk}/").json()["reply_count"] == thread_before - 1
    assert tallies_audit() == []

    services.reply_restore(actor=moderator, reply_id=reply.pk)

    assert anon.get(f"/api/replies/{reply.pk}/").status_code == 200
    after = anon.get("/api/topics/sora-leak/summary/").json()
    assert after["stances"] == before["stances"]
    assert (after["replies"], after["participants"], after["votes"]) == (
        before["replies"],
        before["participants"],
        before["votes"],
    )
    assert tallies_audit() == []
    log = list(ModerationAction.objects.order_by("id").values_list("action", "reason", "before", "after"))
    assert log == [
        ("hide", "Personal attack.", {"state": "visible"}, {"state": "hidden"}),
        ("restore", "", {"state": "hidden"}, {"state": "visible"}),
    ]


def test_hiding_needs_a_reason(reply, moderator):
    with pytest.raises(Exception) as refused:
        services.reply_hide(actor=moderator, reply_id=reply.pk, reason="   ")
    assert "reason" in str(refused.value)
    assert not ModerationAction.objects.exists()


def test_a_hidden_reply_takes_no_votes_edits_or_flags(reply, as_author, as_other, moderator):
    services.reply_hide(actor=moderator, reply_id=reply.pk, reason="spam")

    assert as_author.post(f"/api/replies/{reply.pk}/vote/", {"value": 1}, format="json").status_code == 404
    assert as_other.patch(f"/api/replies/{reply.pk}/", {"body": "sneaky"}, format="json").status_code == 404
    assert as_other.delete(f"/api/replies/{reply.pk}/").status_code == 404
    assert flag(as_author, reply, reason="spam").status_code == 404


def test_stance_change_by_a_moderator_moves_the_tallies_and_keeps_a_revision(reply, anon, moderator):
    services.reply_stance_change(actor=moderator, reply_id=reply.pk, stance_slug="pro-tester", reason="flag")

    stances = anon.get("/api/topics/sora-leak/summary/").json()["stances"]
    assert [s["replies"] for s in stances] == [2, 0]
    assert reply.revisions.get().stance.slug == "pro-openai"
    entry = ModerationAction.objects.get()
    assert (entry.action, entry.before, entry.after) == (
        "change-stance",
        {"stance": "pro-openai"},
        {"stance": "pro-tester"},
    )
    assert tallies_audit() == []


# --- locks and pins ------------------------------------------------------------------------------


def test_a_locked_thread_refuses_replies_until_unlocked(thread, as_other, moderator):
    services.thread_lock(actor=moderator, thread_id=thread.pk, locked=True, reason="Heated.")
    body = {"thread": thread.pk, "body": "One more thing.", "stance": "pro-openai"}

    refused = as_other.post("/api/replies/", body, format="json")
    assert refused.status_code == 403
    assert "locked" in refused.json()["detail"]
    assert as_other.get(f"/api/threads/{thread.pk}/").json()["is_locked"] is True

    services.thread_lock(actor=moderator, thread_id=thread.pk, locked=False)
    assert as_other.post("/api/replies/", body, format="json").status_code == 201
    assert list(ModerationAction.objects.order_by("id").values_list("action", flat=True)) == [
        "lock-thread",
        "unlock-thread",
    ]


def test_a_locked_topic_refuses_threads_and_replies(topic, thread, as_other, moderator):
    services.topic_lock(actor=moderator, topic_id=topic.pk, locked=True)

    new_thread = {"topic": "sora-leak", "title": "t", "body": "b", "stance": "pro-tester"}
    assert as_other.post("/api/threads/", new_thread, format="json").status_code == 403
    reply = {"thread": thread.pk, "body": "b", "stance": "pro-tester"}
    assert as_other.post("/api/replies/", reply, format="json").status_code == 403
    assert ModerationAction.objects.get().action == "lock-topic"


def test_pinned_threads_come_first(topic, author, anon, moderator):
    old = make_thread(topic=topic, author=author, title="Old")
    make_thread(topic=topic, author=author, title="New")
    services.thread_pin(actor=moderator, thread_id=old.pk, pinned=True)

    titles = [t["title"] for t in anon.get("/api/threads/?topic=sora-leak").json()["results"]]
    assert titles[0] == "Old"
    assert ModerationAction.objects.get().action == "pin-thread"


# --- suspensions ---------------------------------------------------------------------------------


def test_a_suspended_user_reads_but_every_write_is_refused(topic, thread, reply, author, moderator):
    forum_services.user_suspend(actor=moderator, user=author, reason="Brigading.")
    client = client_for(author)

    writes = [
        client.post("/api/threads/", {"topic": "sora-leak", "title": "t", "body": "b", "stance": "pro-tester"}),
        client.post("/api/replies/", {"thread": thread.pk, "body": "b", "stance": "pro-tester"}),
        client.patch(f"/api/replies/{thread.opening_reply_id}/", {"body": "edited"}),
        client.delete(f"/api/replies/{thread.opening_reply_id}/"),
        client.post(f"/api/replies/{reply.pk}/vote/", {"value": 1}),
        client.delete(f"/api/replies/{reply.pk}/vote/"),
        client.post(f"/api/replies/{reply.pk}/flag/", {"reason": "spam"}),
        client.put("/api/topics/sora-leak/position/", {"stance": "pro-tester"}),
    ]
    for response in writes:
        assert response.status_code == 403, response.request
        assert "suspended" in response.json()["detail"]
        assert "Brigading." in response.json()["detail"]
    assert client.get("/api/topics/sora-leak/summary/").status_code == 200
    assert client.get("/api/me/").status_code == 200


def test_a_suspension_ends_when_lifted_or_when_its_time_is_up(thread, author, moderator):
    client = client_for(author)
    body = {"thread": thread.pk, "body": "Back again.", "stance": "pro-tester"}
    forum_services.user_suspend(actor=moderator, user=author, reason="Cool off.")
    assert client.post("/api/replies/", body, format="json").status_code == 403

    assert forum_services.user_unsuspend(actor=moderator, user=author, reason="Apologised.") == 1
    assert client.post("/api/replies/", body, format="json").status_code == 201

    soon = timezone.now() + datetime.timedelta(hours=1)
    suspension = forum_services.user_suspend(actor=moderator, user=author, reason="Again.", ends_at=soon)
    assert client.post("/api/replies/", body, format="json").status_code == 403
    Suspension.objects.filter(pk=suspension.pk).update(ends_at=timezone.now() - datetime.timedelta(seconds=1))
    assert client.post("/api/replies/", body, format="json").status_code == 201
    assert list(ModerationAction.objects.order_by("id").values_list("action", flat=True)) == [
        "suspend",
        "unsuspend",
        "suspend",
    ]


@pytest.mark.parametrize("state", ["until lifted", "until a time to come", "lifted", "over", "not begun"])
def test_the_token_lookup_sees_a_suspension_in_force_as_the_model_does(thread, author, moderator, state):
    # Token authentication answers "suspended?" in its own query, so writes skip a lookup of their own;
    # its answer must be Suspension.active_q's in every state a suspension can be in.
    now, hour = timezone.now(), datetime.timedelta(hours=1)
    fields = {
        "until lifted": {},
        "until a time to come": {"ends_at": now + hour},
        "lifted": {"lifted_at": now - hour, "lifted_by": moderator},
        "over": {"starts_at": now - 2 * hour, "ends_at": now - hour},
        "not begun": {"starts_at": now + hour},
    }[state]
    suspension = Suspension.objects.create(user=author, reason="Testing.", created_by=moderator, **fields)
    in_force = Suspension.objects.filter(Suspension.active_q(), pk=suspension.pk).exists()

    body = {"thread": thread.pk, "body": "Still here?", "stance": "pro-tester"}
    response = client_for(author).post("/api/replies/", body, format="json")

    assert in_force == state.startswith("until")
    assert response.status_code == (403 if in_force else 201), response.content


def test_a_suspension_made_after_one_request_refuses_the_next(thread, reply, author, moderator):
    client = client_for(author)
    assert client.post(f"/api/replies/{reply.pk}/vote/", {"value": 1}, format="json").status_code == 200

    forum_services.user_suspend(actor=moderator, user=author, reason="Vote brigade.")

    response = client.post(f"/api/replies/{reply.pk}/vote/", {"value": -1}, format="json")
    assert response.status_code == 403
    assert "Vote brigade." in response.json()["detail"]


def test_suspending_needs_a_reason_and_a_future_end(author, moderator):
    with pytest.raises(Exception, match="reason"):
        forum_services.user_suspend(actor=moderator, user=author, reason=" ")
    with pytest.raises(Exception, match="ends_at"):
        past = timezone.now() - datetime.timedelta(days=1)
        forum_services.user_suspend(actor=moderator, user=author, reason="x", ends_at=past)
    assert not Suspension.objects.exists()


# --- the log -------------------------------------------------------------------------------------


def test_the_log_is_append_only(reply, moderator):
    services.reply_hide(actor=moderator, reply_id=reply.pk, reason="spam")
    entry = ModerationAction.objects.get()

    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


def test_moderators_read_the_log_through_the_api(reply, moderator, author, anon, django_assert_num_queries):
    services.reply_hide(actor=moderator, reply_id=reply.pk, reason="spam")
    services.reply_restore(actor=moderator, reply_id=reply.pk)
    client = client_for(moderator)

    # 1 token; 2 the moderator check (the user's own permissions, then their groups'); 1 page joined to the
    # actor (no COUNT(*): the log grows with the forum and no counter knows its length, so `count` is null)
    with django_assert_num_queries(4):
        response = client.get("/api/moderation/log/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["action"] for r in rows] == ["restore", "hide"]
    assert rows[1] | {"id": 0, "created_at": ""} == {
        "id": 0,
        "actor": "mod",
        "action": "hide",
        "target_type": "reply",
        "target_id": reply.pk,
        "target": str(reply),
        "reason": "spam",
        "before": {"state": "visible"},
        "after": {"state": "hidden"},
        "created_at": "",
    }
    assert [r["action"] for r in client.get("/api/moderation/log/?action=hide").json()["results"]] == ["hide"]
    assert client_for(author).get("/api/moderation/log/").status_code == 403
    assert anon.get("/api/moderation/log/").status_code == 401


def test_a_no_op_writes_no_log_row(thread, topic, reply, moderator):
    services.thread_lock(actor=moderator, thread_id=thread.pk, locked=False)
    services.thread_pin(actor=moderator, thread_id=thread.pk, pinned=False)
    services.topic_lock(actor=moderator, topic_id=topic.pk, locked=False)
    services.reply_stance_change(actor=moderator, reply_id=reply.pk, stance_slug="pro-openai")

    assert not ModerationAction.objects.exists()
    assert not reply.revisions.exists()


def test_a_restore_is_not_new_activity(thread, reply, anon, moderator):
    before = anon.get(f"/api/threads/{thread.pk}/").json()["last_activity_at"]
    services.reply_hide(actor=moderator, reply_id=reply.pk, reason="spam")
    services.reply_restore(actor=moderator, reply_id=reply.pk)

    assert anon.get(f"/api/threads/{thread.pk}/").json()["last_activity_at"] == before


def test_a_hidden_opening_post_takes_its_stance_along(thread, anon, moderator):
    services.reply_hide(actor=moderator, reply_id=thread.opening_reply_id, reason="abuse")

    body = anon.get(f"/api/threads/{thread.pk}/").json()
    assert (body["body"], body["stance"]) == (None, None)
    assert anon.get("/api/threads/?topic=sora-leak&stance=pro-tester").json()["results"] == []


def test_a_moderators_api_edits_of_others_replies_are_logged(reply, as_moderator, as_other, moderator):
    as_moderator.patch(f"/api/replies/{reply.pk}/", {"body": "Trimmed by a moderator."}, format="json")
    as_moderator.patch(f"/api/replies/{reply.pk}/", {"stance": "pro-tester"}, format="json")
    as_other.patch(f"/api/replies/{reply.pk}/", {"body": "The author's own edit."}, format="json")
    assert as_moderator.delete(f"/api/replies/{reply.pk}/").status_code == 204

    log = list(ModerationAction.objects.order_by("id").values_list("actor", "action", "target_id", "before", "after"))
    assert log == [
        (
            moderator.pk,
            "edit-reply",
            reply.pk,
            {"body": "Early access is the usual trade."},
            {"body": "Trimmed by a moderator."},
        ),
        (moderator.pk, "change-stance", reply.pk, {"stance": "pro-openai"}, {"stance": "pro-tester"}),
        (moderator.pk, "withdraw-reply", reply.pk, {"state": "visible"}, {"state": "withdrawn"}),
    ]


def test_authors_editing_and_withdrawing_their_own_replies_log_nothing(reply, as_other):
    as_other.patch(f"/api/replies/{reply.pk}/", {"body": "Second thoughts.", "stance": "pro-tester"}, format="json")
    as_other.delete(f"/api/replies/{reply.pk}/")

    assert not ModerationAction.objects.exists()
