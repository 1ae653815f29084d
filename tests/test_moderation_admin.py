"""Moderators work in the admin: every action goes through a service, logs itself and keeps the tallies true."""

import csv
import datetime
import io
import re
from types import SimpleNamespace

import pytest
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.urls import reverse

from discussions import services as discussion_services
from discussions.admin.charts import stance_balance_svg
from discussions.audit import tallies_audit
from discussions.models import Flag, Reply, ReplyRevision, Stance, Thread, Topic, Vote
from forum import services as forum_services
from forum.errors import Invalid
from forum.models import ModerationAction, Suspension
from forum.selectors import suspension_in_force
from tests.support.factories import ModeratorFactory, TopicFactory, UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db


# --- Actors ------------------------------------------------------------------------------------------


def _moderator(username="deskmod"):
    return ModeratorFactory(username=username)  # staff in the Moderators group, made by forum's migration 0003


def _superuser():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture(params=["moderator", "superuser"])
def desk(request, client):
    """A logged-in client of someone allowed to moderate: a Moderators member, then a superuser."""
    user = _moderator() if request.param == "moderator" else _superuser()
    client.force_login(user)
    return SimpleNamespace(client=client, user=user)


@pytest.fixture
def as_moderator_client(client):
    user = _moderator()
    client.force_login(user)
    return SimpleNamespace(client=client, user=user)


@pytest.fixture
def as_superuser_client(client):
    user = _superuser()
    client.force_login(user)
    return SimpleNamespace(client=client, user=user)


@pytest.fixture
def viewer(db):
    """Staff who may see every page the moderators see, but hold no moderate_reply."""
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(*Group.objects.get(name="Moderators").permissions.exclude(codename="moderate_reply"))
    return user


# --- Helpers -----------------------------------------------------------------------------------------


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def run_action(client, model, action: str, objects, **fields):
    """POST an action from the changelist, as the admin's own form does."""
    data = {"action": action, "_selected_action": [obj.pk for obj in objects], **fields}
    return client.post(changelist(model), data)


def offered_actions(page) -> list[str]:
    form = page.context["action_form"]  # None when no action is left for this user
    return [name for name, _ in form.fields["action"].choices] if form else []


def notes(response, level=None) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request) if level is None or m.level == level]


def summary(client) -> dict:
    body = client.get("/api/topics/sora-leak/summary/").json()
    return {"replies": body["replies"], **{row["stance"]: row["replies"] for row in body["stances"]}}


def only_log_row(**filters) -> ModerationAction:
    rows = list(ModerationAction.objects.filter(**filters))
    assert len(rows) == 1, rows
    return rows[0]


@pytest.fixture
def flagged(thread, reply, other):
    """Two open flags on `reply` (from two readers) and one on the opening reply."""
    first, second = UserFactory(username="reader1"), UserFactory(username="reader2")
    return SimpleNamespace(
        on_reply=discussion_services.flag_create(actor=first, reply_id=reply.pk, reason="abuse", text="rude"),
        sibling=discussion_services.flag_create(actor=second, reply_id=reply.pk, reason="spam"),
        on_opening=discussion_services.flag_create(actor=first, reply_id=thread.opening_reply_id, reason="off-topic"),
    )


# --- Replies: hide, restore, change stance ---------------------------------------------------------


def test_hide_asks_for_a_reason_then_hides_through_the_service(desk, topic, thread, reply):
    assert summary(desk.client) == {"replies": 2, "pro-tester": 1, "pro-openai": 1}

    page = run_action(desk.client, Reply, "hide", [reply])
    assert page.status_code == 200
    assert "admin/forum/moderation_action_form.html" in [t.name for t in page.templates]
    assert 'name="reason"' in page.content.decode()

    empty = run_action(desk.client, Reply, "hide", [reply], reason="   ", apply="1")
    assert empty.status_code == 200
    assert empty.context["form"].errors == {"reason": ["This field is required."]}
    reply.refresh_from_db()
    assert reply.state == "visible"
    assert not ModerationAction.objects.exists()

    done = run_action(desk.client, Reply, "hide", [reply], reason="Personal attack", apply="1")
    assert done.status_code == 302
    reply.refresh_from_db()
    assert (reply.state, reply.hidden_reason) == ("hidden", "Personal attack")
    row = only_log_row()
    assert (row.action, row.actor, row.target_type, row.target_id) == ("hide", desk.user, "reply", reply.pk)
    assert (row.reason, row.before, row.after) == ("Personal attack", {"state": "visible"}, {"state": "hidden"})
    assert summary(desk.client) == {"replies": 1, "pro-tester": 1, "pro-openai": 0}
    assert Thread.objects.get(pk=thread.pk).reply_count == 1
    assert tallies_audit() == []


def test_hide_reports_replies_that_are_not_visible_and_hides_the_rest(as_moderator_client, thread, reply, author):
    desk = as_moderator_client
    withdrawn = make_reply(thread=thread, author=author, body="Second thoughts.")
    discussion_services.reply_withdraw(actor=author, reply_id=withdrawn.pk)

    response = run_action(desk.client, Reply, "hide", [reply, withdrawn], reason="Spam", apply="1")

    assert Reply.objects.get(pk=reply.pk).state == "hidden"
    assert Reply.objects.get(pk=withdrawn.pk).state == "withdrawn"
    assert notes(response, messages.ERROR) == [
        f"Reply #{withdrawn.pk} is withdrawn; only visible replies can be hidden."
    ]
    assert notes(response, messages.SUCCESS) == ["Hid 1 replies."]
    assert list(ModerationAction.objects.values_list("action", "target_id")) == [("hide", reply.pk)]
    assert tallies_audit() == []


def test_restore_brings_a_hidden_reply_back_everywhere(desk, topic, thread, reply):
    discussion_services.reply_hide(actor=_moderator("other-mod"), reply_id=reply.pk, reason="Mistake")
    assert summary(desk.client)["replies"] == 1

    response = run_action(desk.client, Reply, "restore", [reply, thread.opening_reply])

    assert response.status_code == 302
    reply.refresh_from_db()
    assert (reply.state, reply.hidden_reason) == ("visible", "")
    row = only_log_row(action="restore")
    assert (row.actor, row.target_type, row.target_id) == (desk.user, "reply", reply.pk)
    assert (row.before, row.after) == ({"state": "hidden"}, {"state": "visible"})
    # The opening reply was visible: reported, untouched, not logged.
    assert notes(response, messages.ERROR) == [
        f"Reply #{thread.opening_reply_id} is visible; only hidden replies can be restored."
    ]
    assert summary(desk.client) == {"replies": 2, "pro-tester": 1, "pro-openai": 1}
    assert Thread.objects.get(pk=thread.pk).reply_count == 2
    assert tallies_audit() == []


def test_change_stance_moves_each_reply_within_its_own_topic(desk, topic, thread, reply, rival_topic, author):
    rival_reply = make_reply(thread=make_thread(topic=rival_topic, author=author), author=author)
    third = TopicFactory(slug="third", stances=(("yes", "Yes"), ("no", "No")))
    third_reply = make_thread(topic=third, author=author, stance="yes").opening_reply
    chosen = [reply, rival_reply, third_reply]

    page = run_action(desk.client, Reply, "change_stance", chosen)
    assert page.status_code == 200
    choices = dict(page.context["form"].fields["stance"].choices)
    assert choices["pro-tester"] == "pro-tester (rival-debate, sora-leak)"
    assert set(choices) == {"pro-tester", "pro-openai", "yes", "no"}

    response = run_action(
        desk.client, Reply, "change_stance", chosen, stance="pro-tester", reason="Wrong side", apply="1"
    )

    assert response.status_code == 302
    moved = Reply.objects.select_related("stance__topic").get(pk=reply.pk)
    assert (moved.stance.topic.slug, moved.stance.slug) == ("sora-leak", "pro-tester")
    moved_rival = Reply.objects.select_related("stance__topic").get(pk=rival_reply.pk)
    assert (moved_rival.stance.topic.slug, moved_rival.stance.slug) == ("rival-debate", "pro-tester")
    assert Reply.objects.get(pk=third_reply.pk).stance.slug == "yes"
    assert notes(response, messages.ERROR) == [
        f"Reply #{third_reply.pk}: 'pro-tester' is not a stance of topic 'third'; choose one of: yes, no."
    ]
    row = only_log_row(action="change-stance", target_id=reply.pk)
    assert (row.actor, row.target_type, row.reason) == (desk.user, "reply", "Wrong side")
    assert (row.before, row.after) == ({"stance": "pro-openai"}, {"stance": "pro-tester"})
    assert ModerationAction.objects.filter(action="change-stance").count() == 2
    assert ReplyRevision.objects.get(reply=reply).stance.slug == "pro-openai"
    assert summary(desk.client) == {"replies": 2, "pro-tester": 2, "pro-openai": 0}
    assert Thread.objects.get(pk=thread.pk).reply_count == 2
    assert tallies_audit() == []


def test_change_stance_to_the_same_stance_logs_nothing(as_moderator_client, reply):
    response = run_action(as_moderator_client.client, Reply, "change_stance", [reply], stance="pro-openai", apply="1")

    assert notes(response, messages.WARNING) == [f"Reply #{reply.pk} is already on 'pro-openai'."]
    assert not ModerationAction.objects.exists()
    assert not ReplyRevision.objects.exists()


# --- Threads and topics -------------------------------------------------------------------------------

THREAD_ACTIONS = [
    # action, field, starting value, log action, the state it leaves
    ("lock", "is_locked", False, "lock-thread", "locked"),
    ("unlock", "is_locked", True, "unlock-thread", "unlocked"),
    ("pin", "is_pinned", False, "pin-thread", "pinned"),
    ("unpin", "is_pinned", True, "unpin-thread", "unpinned"),
]


@pytest.mark.parametrize(("action", "field", "start", "logged", "state"), THREAD_ACTIONS)
def test_thread_actions_switch_and_log(desk, thread, action, field, start, logged, state):
    Thread.objects.filter(pk=thread.pk).update(**{field: start})

    response = run_action(desk.client, Thread, action, [thread])

    assert response.status_code == 302
    assert getattr(Thread.objects.get(pk=thread.pk), field) is (not start)
    row = only_log_row()
    assert (row.action, row.actor, row.target_type, row.target_id) == (logged, desk.user, "thread", thread.pk)
    assert (row.before, row.after) == ({field: start}, {field: not start})

    again = run_action(desk.client, Thread, action, [thread])  # already switched: said so, not logged again
    assert notes(again, messages.WARNING) == [f"Thread #{thread.pk} is already {state}."]
    assert ModerationAction.objects.count() == 1


@pytest.mark.parametrize(
    ("action", "start", "logged"), [("lock", False, "lock-topic"), ("unlock", True, "unlock-topic")]
)
def test_topic_actions_lock_and_unlock(desk, topic, action, start, logged):
    Topic.objects.filter(pk=topic.pk).update(is_locked=start)

    response = run_action(desk.client, Topic, action, [topic])

    assert response.status_code == 302
    assert Topic.objects.get(pk=topic.pk).is_locked is (not start)
    row = only_log_row()
    assert (row.action, row.actor, row.target_type, row.target_id) == (logged, desk.user, "topic", topic.pk)
    assert (row.before, row.after) == ({"is_locked": start}, {"is_locked": not start})

    again = run_action(desk.client, Topic, action, [topic])  # already switched: said so, not logged again
    assert notes(again, messages.WARNING) == [f"Topic #{topic.pk} is already {action}ed."]
    assert ModerationAction.objects.count() == 1


# --- The flag queue ----------------------------------------------------------------------------------


def test_resolve_hides_the_reply_and_closes_its_open_flags(desk, thread, reply, flagged):
    response = run_action(desk.client, Flag, "resolve", [flagged.on_reply, flagged.sibling])

    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.state == "hidden"
    for flag in (flagged.on_reply, flagged.sibling):
        flag.refresh_from_db()
        assert (flag.state, flag.handled_by) == ("resolved", desk.user)
        assert flag.handled_at is not None
    assert Flag.objects.get(pk=flagged.on_opening.pk).state == "open"
    hide = only_log_row(action="hide")
    assert (hide.target_id, hide.actor, hide.reason) == (
        reply.pk,
        desk.user,
        f"Flag #{flagged.on_reply.pk}: abuse. rude",
    )
    resolved = ModerationAction.objects.filter(action="resolve-flag").order_by("target_id")
    assert [(r.target_type, r.target_id, r.before, r.after) for r in resolved] == [
        ("flag", flagged.on_reply.pk, {"state": "open"}, {"state": "resolved"}),
        ("flag", flagged.sibling.pk, {"state": "open"}, {"state": "resolved"}),
    ]
    # The sibling was closed with the first; said so, not counted as an error.
    assert notes(response, messages.ERROR) == []
    assert notes(response, messages.WARNING) == [
        f"Flag #{flagged.sibling.pk} was closed with flag #{flagged.on_reply.pk} on the same reply."
    ]
    assert notes(response, messages.SUCCESS) == ["Resolved 1 flags; their replies are hidden."]
    assert summary(desk.client)["replies"] == 1
    assert tallies_audit() == []


def test_dismiss_leaves_the_reply_and_only_takes_open_flags(desk, reply, flagged):
    Flag.objects.filter(pk=flagged.sibling.pk).update(state="dismissed")

    response = run_action(desk.client, Flag, "dismiss", [flagged.on_reply, flagged.sibling])

    assert Reply.objects.get(pk=reply.pk).state == "visible"
    flag = Flag.objects.get(pk=flagged.on_reply.pk)
    assert (flag.state, flag.handled_by) == ("dismissed", desk.user)
    row = only_log_row()
    assert (row.action, row.actor, row.target_type, row.target_id) == ("dismiss-flag", desk.user, "flag", flag.pk)
    assert (row.before, row.after) == ({"state": "open"}, {"state": "dismissed"})
    assert notes(response, messages.ERROR) == [
        f"Flag #{flagged.sibling.pk} is dismissed; only open flags can be dismissed."
    ]


def test_resolve_refuses_closed_flags(as_moderator_client, reply, flagged):
    Flag.objects.filter(pk=flagged.on_reply.pk).update(state="dismissed")

    response = run_action(as_moderator_client.client, Flag, "resolve", [flagged.on_reply])

    assert Reply.objects.get(pk=reply.pk).state == "visible"
    assert notes(response, messages.ERROR) == [
        f"Flag #{flagged.on_reply.pk} is dismissed; only open flags can be resolved."
    ]
    assert not ModerationAction.objects.exists()


def test_flags_are_in_the_debates_admin(as_moderator_client, flagged):
    # Flags moved from forum to discussions with their model; their pages moved with them.
    assert changelist(Flag) == "/admin/discussions/flag/"
    assert as_moderator_client.client.get(admin_url(Flag, "change", flagged.on_reply.pk)).status_code == 200
    # Bookmarks of the old pages land on the new ones, filters and all.
    old = as_moderator_client.client.get("/admin/forum/flag/", {"state__exact": "open"})
    assert (old.status_code, old["Location"]) == (301, "/admin/discussions/flag/?state__exact=open")
    old = as_moderator_client.client.get(f"/admin/forum/flag/{flagged.on_reply.pk}/change/")
    assert old["Location"] == f"/admin/discussions/flag/{flagged.on_reply.pk}/change/"


def test_flag_queue_lists_open_flags_first_oldest_first(as_moderator_client, flagged):
    discussion_services.flag_dismiss(actor=as_moderator_client.user, flag_id=flagged.on_reply.pk)

    response = as_moderator_client.client.get(changelist(Flag))

    shown = [flag.pk for flag in response.context["cl"].result_list]
    assert shown == [flagged.sibling.pk, flagged.on_opening.pk, flagged.on_reply.pk]


# --- Suspensions ---------------------------------------------------------------------------------------


def test_suspending_from_the_add_form_goes_through_the_service(desk, other):
    response = desk.client.post(
        admin_url(Suspension, "add"),
        {"user": other.pk, "reason": "Repeated abuse", "ends_at_0": "", "ends_at_1": "", "_save": "Save"},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    suspension = Suspension.objects.get()
    assert (suspension.user, suspension.created_by, suspension.reason) == (other, desk.user, "Repeated abuse")
    assert suspension.ends_at is None
    row = only_log_row()
    assert (row.action, row.actor, row.target_type, row.target_id) == ("suspend", desk.user, "user", other.pk)
    assert row.after == {"suspension": suspension.pk, "ends_at": None}
    assert suspension_in_force(other) == suspension


def test_suspension_form_refuses_self_suspension_and_a_past_end(as_moderator_client):
    desk = as_moderator_client
    response = desk.client.post(
        admin_url(Suspension, "add"),
        {"user": desk.user.pk, "reason": "x", "ends_at_0": "2000-01-01", "ends_at_1": "10:00:00"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "user": ["You cannot suspend yourself."],
        "ends_at": ["The end must be in the future."],
    }
    assert not Suspension.objects.exists() and not ModerationAction.objects.exists()


def test_lift_ends_a_suspension_through_the_service(desk, other):
    suspension = forum_services.user_suspend(actor=_moderator("other-mod"), user=other, reason="Cooling off")
    before = ModerationAction.objects.count()

    response = run_action(desk.client, Suspension, "lift", [suspension])

    assert response.status_code == 302
    suspension.refresh_from_db()
    assert (suspension.lifted_by, suspension.lifted_at is not None) == (desk.user, True)
    assert ModerationAction.objects.count() == before + 1
    row = ModerationAction.objects.get(action="unsuspend")
    assert (row.actor, row.target_type, row.target_id, row.before) == (
        desk.user,
        "user",
        other.pk,
        {"suspensions": [suspension.pk]},
    )
    assert suspension_in_force(other) is None

    again = run_action(desk.client, Suspension, "lift", [suspension])  # the service refuses: nothing in force
    assert notes(again, messages.ERROR) == [f"Suspension #{suspension.pk}: bob has no suspension in force."]
    assert ModerationAction.objects.count() == before + 1


def test_lifting_a_past_suspension_leaves_a_later_one_in_force(as_moderator_client, other):
    # The service lifts whatever of the user's is in force; the row selected here is not, so the desk refuses.
    setup = _moderator("other-mod")
    past = forum_services.user_suspend(actor=setup, user=other, reason="First time")
    forum_services.user_unsuspend(actor=setup, user=other)
    current = forum_services.user_suspend(actor=setup, user=other, reason="Second time")
    before = ModerationAction.objects.count()

    response = run_action(as_moderator_client.client, Suspension, "lift", [past])

    assert notes(response, messages.ERROR) == [
        f"Suspension #{past.pk} is not in force; bob's suspension #{current.pk} is."
    ]
    assert suspension_in_force(other) == current
    assert ModerationAction.objects.count() == before


def test_lifting_two_suspensions_of_one_user_lifts_both_at_once(as_moderator_client, other):
    setup = _moderator("other-mod")
    first = forum_services.user_suspend(actor=setup, user=other, reason="One")
    second = forum_services.user_suspend(actor=setup, user=other, reason="Two")
    selected = list(Suspension.objects.filter(pk__in=[first.pk, second.pk]))  # the changelist's order

    response = run_action(as_moderator_client.client, Suspension, "lift", selected)

    assert notes(response, messages.WARNING) == [
        f"Suspension #{selected[1].pk} was lifted with suspension #{selected[0].pk} of the same user."
    ]
    assert notes(response, messages.SUCCESS) == ["Lifted 1 suspensions."]
    assert Suspension.objects.filter(lifted_at=None).count() == 0
    assert sorted(only_log_row(action="unsuspend").before["suspensions"]) == sorted([first.pk, second.pk])


def test_user_changelist_marks_suspended_users(as_moderator_client, other, author):
    forum_services.user_suspend(actor=as_moderator_client.user, user=other, reason="Spam")

    response = as_moderator_client.client.get(changelist(type(other)))

    suspended = {user.username: user.is_suspended for user in response.context["cl"].result_list}
    assert suspended["bob"] is True and suspended["alice"] is False


# --- Who may do it -----------------------------------------------------------------------------------


@pytest.fixture
def targets(topic, thread, reply, flagged, other, author):
    hidden = make_reply(thread=thread, author=author, body="To be restored.")
    moderator = _moderator("setup-mod")
    discussion_services.reply_hide(actor=moderator, reply_id=hidden.pk, reason="Setup")
    Thread.objects.filter(pk=thread.pk).update(is_pinned=True)  # so both pin and unpin would change it
    suspension = forum_services.user_suspend(actor=moderator, user=other, reason="Setup")
    return SimpleNamespace(
        topic=topic, thread=thread, reply=reply, hidden=hidden, flag=flagged.on_reply, suspension=suspension
    )


def all_cases(t):
    """Every moderation action with the objects and form fields that would make it change something."""
    return [
        (Reply, "hide", [t.reply], {"reason": "No", "apply": "1"}),
        (Reply, "restore", [t.hidden], {}),
        (Reply, "change_stance", [t.reply], {"stance": "pro-tester", "apply": "1"}),
        (Thread, "lock", [t.thread], {}),
        (Thread, "unpin", [t.thread], {}),
        (Topic, "lock", [t.topic], {}),
        (Flag, "resolve", [t.flag], {}),
        (Flag, "dismiss", [t.flag], {}),
        (Suspension, "lift", [t.suspension], {}),
    ]


def snapshot():
    return (
        list(Reply.objects.order_by("pk").values_list("state", "stance_id")),
        list(Thread.objects.order_by("pk").values_list("is_locked", "is_pinned")),
        list(Topic.objects.order_by("pk").values_list("is_locked")),
        list(Flag.objects.order_by("pk").values_list("state")),
        list(Suspension.objects.order_by("pk").values_list("lifted_at")),
        ModerationAction.objects.count(),
    )


def test_staff_outside_the_group_cannot_open_or_run_anything(client, staff, targets):
    client.force_login(staff)
    before = snapshot()

    for model, action, objects, fields in all_cases(targets):
        assert client.get(changelist(model)).status_code == 403
        assert run_action(client, model, action, objects, **fields).status_code == 403, action
    assert client.get(admin_url(Suspension, "add")).status_code == 403
    assert snapshot() == before


def test_staff_who_may_view_do_not_see_or_run_the_actions(client, viewer, targets):
    client.force_login(viewer)
    before = snapshot()

    for model, action, objects, fields in all_cases(targets):
        page = client.get(changelist(model))
        assert page.status_code == 200
        assert action not in offered_actions(page), model
        response = run_action(client, model, action, objects, **fields)
        assert response.status_code in (200, 302), action
    assert client.get(admin_url(Suspension, "add")).status_code == 403
    assert snapshot() == before


def test_superuser_and_moderator_are_offered_every_action(desk, targets):
    for model, action, _, _ in all_cases(targets):
        offered = offered_actions(desk.client.get(changelist(model)))
        assert action in offered
        assert "delete_selected" not in offered


def test_a_service_refusal_is_an_admin_error_not_a_500(staff, moderator, reply):
    # Only reachable if the action gate were bypassed: the service's NotAllowed still reads as a message.
    discussion_services.reply_hide(actor=moderator, reply_id=reply.pk, reason="Setup")
    request = RequestFactory().post(changelist(Reply))
    request.user, request.session = staff, {}
    request._messages = FallbackStorage(request)

    admin.site._registry[Reply].restore(request, Reply.objects.filter(pk=reply.pk))

    errors = [m.message for m in request._messages if m.level == messages.ERROR]
    assert errors == [f"Reply #{reply.pk}: Only moderators may do this."]
    assert Reply.objects.get(pk=reply.pk).state == "hidden"
    assert ModerationAction.objects.count() == 1  # the setup's hide


# --- Read-only pages, no add, no delete ----------------------------------------------------------------


def test_moderation_log_is_read_only_even_for_a_superuser(as_superuser_client, reply):
    client = as_superuser_client.client
    discussion_services.reply_hide(actor=as_superuser_client.user, reply_id=reply.pk, reason="x")
    row = ModerationAction.objects.get()

    assert client.get(admin_url(ModerationAction, "add")).status_code == 403
    assert client.post(admin_url(ModerationAction, "add"), {"action": "hide"}).status_code == 403
    assert client.post(admin_url(ModerationAction, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert client.post(admin_url(ModerationAction, "change", row.pk), {"reason": "edited"}).status_code == 403
    assert client.get(admin_url(ModerationAction, "change", row.pk)).status_code == 200  # viewable
    assert ModerationAction.objects.get().reason == "x"


def _csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_moderation_log_exports_csv(as_moderator_client, thread, reply):
    desk = as_moderator_client
    discussion_services.reply_hide(actor=desk.user, reply_id=reply.pk, reason="=HYPERLINK(evil)")
    discussion_services.thread_lock(actor=desk.user, thread_id=thread.pk, locked=True)
    hide, lock = ModerationAction.objects.get(action="hide"), ModerationAction.objects.get(action="lock-thread")

    selected = _csv_rows(run_action(desk.client, ModerationAction, "export_csv", [hide]))
    assert selected[0] == [
        "id",
        "created_at",
        "actor",
        "action",
        "target_type",
        "target_id",
        "target_repr",
        "reason",
        "before",
        "after",
    ]
    assert len(selected) == 2
    assert selected[1][:6] == [str(hide.pk), hide.created_at.isoformat(), "deskmod", "hide", "reply", str(reply.pk)]
    assert selected[1][7] == "'=HYPERLINK(evil)"  # a spreadsheet shows it, never runs it
    assert selected[1][8:] == ['{"state": "visible"}', '{"state": "hidden"}']

    page = desk.client.get(changelist(ModerationAction), {"target_type": "thread"})
    export_link = re.search(r'href="([^"]+)" class="export-csv"', page.content.decode()).group(1)
    filtered = _csv_rows(desk.client.get(export_link.replace("&amp;", "&")))
    assert [row[0] for row in filtered[1:]] == [str(lock.pk)]
    everything = _csv_rows(desk.client.get(admin_url(ModerationAction, "export")))
    assert sorted(row[0] for row in everything[1:]) == sorted([str(hide.pk), str(lock.pk)])


def test_export_needs_the_view_permission(client, staff):
    client.force_login(staff)
    assert client.get(admin_url(ModerationAction, "export")).status_code == 403


@pytest.mark.parametrize("model", [Reply, Thread, Flag, Topic, Stance])
def test_nothing_of_the_debate_can_be_deleted(as_superuser_client, flagged, thread, model):
    obj = model.objects.first()
    client = as_superuser_client.client
    if model is not Stance:  # stances have no page of their own, only the inline on their topic
        assert client.get(admin_url(model, "delete", obj.pk)).status_code == 403
        assert client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model", [Reply, Thread, Flag, Vote, ModerationAction])
def test_no_add_page(as_superuser_client, model):
    assert as_superuser_client.client.get(admin_url(model, "add")).status_code == 403


def test_reply_page_is_read_only_with_revisions_and_flags(as_superuser_client, reply, other, flagged):
    discussion_services.reply_update(actor=other, reply_id=reply.pk, body="Edited body.")
    client = as_superuser_client.client

    page = client.get(admin_url(Reply, "change", reply.pk))

    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="body"' not in html and 'name="_save"' not in html
    assert "Early access is the usual trade." in html  # the revision, shown read-only
    assert "rude" in html  # the flag's text
    assert client.post(admin_url(Reply, "change", reply.pk), {"body": "Sneaky"}).status_code == 403
    assert Reply.objects.get(pk=reply.pk).body == "Edited body."


def test_thread_page_is_read_only(as_superuser_client, thread):
    client = as_superuser_client.client
    assert 'name="is_locked"' not in client.get(admin_url(Thread, "change", thread.pk)).content.decode()
    assert client.post(admin_url(Thread, "change", thread.pk), {"is_locked": "on"}).status_code == 403
    assert Thread.objects.get(pk=thread.pk).is_locked is False


def test_topic_page_keeps_stance_slugs_and_adds_no_stance(as_superuser_client, topic):
    html = as_superuser_client.client.get(admin_url(Topic, "change", topic.pk)).content.decode()
    assert 'name="stances-0-label"' in html
    assert 'name="stances-0-slug"' not in html
    assert 'name="is_locked"' not in html  # locking is an action, so it is logged


def test_topic_can_be_created_with_its_stances(as_superuser_client):
    response = as_superuser_client.client.post(
        admin_url(Topic, "add"),
        {
            "slug": "new-debate",
            "title": "New debate",
            "question": "Yes or no?",
            "description": "",
            "stances": "yes | Yes\nno | No",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    topic = Topic.objects.get(slug="new-debate")
    assert list(topic.stances.order_by("position").values_list("slug", "label")) == [("yes", "Yes"), ("no", "No")]


# --- The stance balance picture --------------------------------------------------------------------------


def test_topic_page_draws_the_stance_balance_from_the_summary(as_moderator_client, topic, thread, reply, author):
    make_reply(thread=thread, author=author, stance="pro-tester", body="Another tester point.")
    discussion_services.vote_cast(actor=author, reply_id=reply.pk, value=1)
    client = as_moderator_client.client
    api = client.get("/api/topics/sora-leak/summary/").json()

    html = client.get(admin_url(Topic, "change", topic.pk)).content.decode()

    assert '<svg id="stance-balance"' in html
    for row in api["stances"]:
        numbers = re.search(rf'<text class="stance-numbers"[^>]*data-stance="{row["stance"]}"[^>]*>', html).group(0)
        assert f'data-replies="{row["replies"]}"' in numbers
        assert f'data-upvotes="{row["upvotes"]}"' in numbers
        assert f'data-reply-share="{row["reply_share"]:.4f}"' in numbers
    assert (api["stances"][0]["replies"], api["stances"][1]["upvotes"]) == (2, 1)
    assert html.count('class="daily-share"') == 2  # one line per stance
    assert "<script" not in html.split('<svg id="stance-balance"')[1].split("</svg>")[0]


# --- Changelists cost a fixed number of queries -----------------------------------------------------------


def _grow(kind: str, n: int, *, topic, author, moderator):
    """n rows of the kind, beside the fixtures' own."""
    thread = make_thread(topic=topic, author=author, title="Filler")
    readers = [UserFactory(username=f"filler{i}") for i in range(n)]
    for i in range(n):
        if kind == "thread":
            make_thread(topic=topic, author=readers[i], title=f"Thread {i}")
        else:
            reply = make_reply(thread=thread, author=readers[i], stance="pro-tester" if i % 2 else "pro-openai")
            if kind in ("flag", "reply"):
                discussion_services.flag_create(actor=author, reply_id=reply.pk, reason="spam")
            if kind == "log":
                discussion_services.thread_pin(actor=moderator, thread_id=thread.pk, pinned=i % 2 == 0)


# Named in the order they run; every one is counted once whatever the number of rows.
CHANGELIST_QUERIES = {
    # session, user, user permissions, group permissions, topics (filter), stances with their topics (filter),
    # COUNT, the page of rows (stance, topic, author, thread and open-flag count in one query)
    Reply: 8,
    # session, user, user permissions, group permissions, COUNT, the page of rows (with reply, reporter, handler)
    Flag: 6,
    # session, user, user permissions, group permissions, topics (filter), COUNT, the page of rows
    Thread: 7,
    # session, user, user permissions, group permissions, actors (filter), COUNT, the page of rows, first and
    # last date (date hierarchy), its days (date hierarchy), target types (filter)
    ModerationAction: 10,
}
KIND = {Reply: "reply", Flag: "flag", Thread: "thread", ModerationAction: "log"}


@pytest.mark.parametrize("rows", [3, 30])
@pytest.mark.parametrize("model", list(CHANGELIST_QUERIES))
def test_changelist_queries_do_not_grow_with_rows(client, django_assert_num_queries, topic, author, model, rows):
    moderator = _moderator()
    _grow(KIND[model], rows, topic=topic, author=author, moderator=moderator)
    client.force_login(moderator)
    assert model.objects.count() >= rows

    with django_assert_num_queries(CHANGELIST_QUERIES[model]):
        response = client.get(changelist(model))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= rows


def test_reply_changelist_columns_filters_and_search(as_moderator_client, topic, rival_topic, reply, flagged):
    client = as_moderator_client.client
    page = client.get(changelist(Reply))
    html = page.content.decode()
    assert "sora-leak / pro-tester" in html and "rival-debate / pro-tester" in html
    row = next(r for r in page.context["cl"].result_list if r.pk == reply.pk)
    assert row.open_flags == 2

    flagged_only = client.get(changelist(Reply), {"flagged": "yes"}).context["cl"].result_list
    assert sorted(r.pk for r in flagged_only) == sorted([reply.pk, flagged.on_opening.reply_id])
    unflagged = client.get(changelist(Reply), {"flagged": "no"}).context["cl"].result_list
    assert list(unflagged) == []

    stance = Stance.objects.get(topic=topic, slug="pro-openai")
    by_stance = client.get(changelist(Reply), {"stance": stance.pk}).context["cl"].result_list
    assert [r.pk for r in by_stance] == [reply.pk]
    found = client.get(changelist(Reply), {"q": "usual trade"}).context["cl"].result_list
    assert [r.pk for r in found] == [reply.pk]


def test_stance_balance_svg_is_a_pure_drawing_of_its_inputs():
    summary = {
        "topic": "t",
        "replies": 4,
        "votes": 2,
        "stances": [
            {"stance": "a<b", "replies": 3, "reply_share": 0.75, "upvotes": 2, "vote_share": 1.0, "participants": 2},
            {"stance": "c", "replies": 1, "reply_share": 0.25, "upvotes": 0, "vote_share": 0.0, "participants": 1},
        ],
    }
    start = datetime.date(2025, 1, 1)
    rows = [(start + datetime.timedelta(days=d), "a<b", 1) for d in range(40)]
    rows += [(start + datetime.timedelta(days=d), "c", 3) for d in range(40)]
    rows.append((start + datetime.timedelta(days=50), "c", 0))  # a day without replies is not drawn

    svg = stance_balance_svg(summary, rows)

    assert svg.startswith('<svg id="stance-balance"') and "a&lt;b" in svg and "a<b" not in svg
    assert svg.count("<circle") == 2 * 30  # the last 30 days with replies, one dot per stance and day
    assert "2025-01-11" in svg and "2025-02-09" in svg and "2025-01-10" not in svg
    assert 'data-replies="3" data-reply-share="0.7500"' in svg
    assert "#1f77b4" in svg and "#d62728" in svg  # colours by stance position
    assert "No daily replies yet." in stance_balance_svg(summary, [])


def test_a_suspended_superuser_cannot_create_a_topic(as_superuser_client, other):
    # The save is topic_create(actor=request.user), which checks the actor like every write service.
    forum_services.user_suspend(actor=_moderator(), user=as_superuser_client.user, reason="Cooling off")
    data = {"slug": "new-debate", "title": "New", "question": "Yes?", "description": "", "stances": "y | Y\nn | N"}

    response = as_superuser_client.client.post(admin_url(Topic, "add"), {**data, "_save": "Save"})

    assert response.status_code == 302
    assert notes(response, messages.ERROR) == ["Your account is suspended until lifted: Cooling off"]
    assert not Topic.objects.filter(slug="new-debate").exists()


def test_superuser_edits_topic_text_and_stance_labels(as_superuser_client, topic):
    stances = list(topic.stances.order_by("position"))
    data = {
        "title": "Sora leak, revisited",
        "question": topic.question,
        "description": "",
        "stances-TOTAL_FORMS": "2",
        "stances-INITIAL_FORMS": "2",
        "stances-MIN_NUM_FORMS": "0",
        "stances-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, stance in enumerate(stances):
        data |= {
            f"stances-{i}-id": stance.pk,
            f"stances-{i}-topic": topic.pk,
            f"stances-{i}-position": stance.position,
            f"stances-{i}-label": f"Label {i}",
            f"stances-{i}-description": "",
        }

    response = as_superuser_client.client.post(admin_url(Topic, "change", topic.pk), data)

    assert response.status_code == 302
    topic.refresh_from_db()
    assert topic.title == "Sora leak, revisited"
    assert list(topic.stances.order_by("position").values_list("slug", "label")) == [
        ("pro-tester", "Label 0"),
        ("pro-openai", "Label 1"),
    ]


def test_a_service_refusal_on_save_is_a_message(as_moderator_client, other, monkeypatch):
    def refuse(**kwargs):
        raise Invalid.on("user", "Already suspended elsewhere.")

    monkeypatch.setattr(forum_services, "user_suspend", refuse)
    response = as_moderator_client.client.post(
        admin_url(Suspension, "add"), {"user": other.pk, "reason": "Spam", "ends_at_0": "", "ends_at_1": ""}
    )

    assert response.status_code == 302
    assert notes(response, messages.ERROR) == ["user: Already suspended elsewhere."]  # the field named
    assert not Suspension.objects.exists()


def test_the_reply_search_is_the_full_text_search_hidden_replies_included(as_moderator_client, thread, author):
    client = as_moderator_client.client
    stemmed = make_reply(thread=thread, author=author, body="The auditors flew zeppelins.")
    hidden = make_reply(thread=thread, author=author, body="A zeppelin is not a blimp.")
    discussion_services.reply_hide(actor=as_moderator_client.user, reply_id=hidden.pk, reason="x")

    def found(q):
        return sorted(r.pk for r in client.get(changelist(Reply), {"q": q}).context["cl"].result_list)

    assert found("auditor") == [stemmed.pk]  # stemmed, as readers' search is
    assert found("zeppelin") == sorted([stemmed.pk, hidden.pk])  # moderators see hidden replies too
    assert found('"not a blimp"') == [hidden.pk]
    assert found("zeppelin -blimp") == [stemmed.pk]
    assert stemmed.pk in found(author.username)  # a username, exactly
    assert found("!!!") == []


def test_a_reply_page_shows_the_raw_body_beside_its_sanitised_rendering(as_moderator_client, thread, author):
    reply = make_reply(thread=thread, author=author, body="**bold** <script>alert(1)</script>")

    html = as_moderator_client.client.get(admin_url(Reply, "change", reply.pk)).content.decode()

    assert '<div class="rendered-body"><p><strong>bold</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>' in html
    assert "**bold** &lt;script&gt;alert(1)&lt;/script&gt;" in html  # the raw body, escaped by the admin
    assert "<script>alert(1)" not in html
