"""Topics: anyone reads the debate questions and their stances; topic managers write them, moderators lock them."""

import pytest

from discussions.models import Stance, Topic
from forum.models import ModerationAction
from tests.support.factories import TopicFactory, make_reply, make_thread

TOPICS = "/api/topics/"

NEW_TOPIC = {
    "slug": "gpu-export",
    "title": "GPU export rules",
    "question": "Should export limits on GPUs stay?",
    "stances": [
        {"slug": "keep", "label": "Keep the limits"},
        {"slug": "lift", "label": "Lift the limits"},
        {"slug": "narrow", "label": "Narrow them"},
    ],
}


# --- reading ---------------------------------------------------------------------------------


def test_list_is_paginated(anon, topic, rival_topic):
    for i in range(3):
        TopicFactory(slug=f"extra-{i}")

    response = anon.get(TOPICS, {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5  # sora-leak, rival-debate and three extras
    assert len(body["results"]) == 2
    assert body["next"] is not None
    rest = anon.get(body["next"]).json()
    assert len(rest["results"]) == 2
    last = anon.get(rest["next"]).json()
    assert len(last["results"]) == 1
    assert last["next"] is None
    slugs = [t["slug"] for page in (body, rest, last) for t in page["results"]]
    assert sorted(slugs) == sorted(["sora-leak", "rival-debate", "extra-0", "extra-1", "extra-2"])


def test_list_is_newest_first(anon, topic):
    newest = TopicFactory(slug="newest")

    slugs = [t["slug"] for t in anon.get(TOPICS).json()["results"]]

    assert slugs[0] == newest.slug


def test_detail_has_the_contract_fields(anon, topic, author, other):
    thread = make_thread(topic=topic, author=author)
    make_reply(thread=thread, author=other)

    response = anon.get(f"{TOPICS}sora-leak/")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("slug", "title", "question", "thread_count", "reply_count", "is_locked")} == {
        "slug": "sora-leak",
        "title": "Debate sora-leak",
        "question": "Who is right?",
        "thread_count": 1,
        "reply_count": 2,  # the opening post and one reply
        "is_locked": False,
    }
    assert [{"slug": s["slug"], "label": s["label"]} for s in body["stances"]] == [
        {"slug": "pro-tester", "label": "The testers had a point"},
        {"slug": "pro-openai", "label": "OpenAI's programme was fair"},
    ]


def test_stances_keep_the_order_they_were_given_in(anon, db):
    # Deliberately neither alphabetical nor by label: only the stored position can produce this order.
    TopicFactory(slug="ordered", stances=(("zeta", "Z"), ("alpha", "A"), ("mid", "M")))

    stances = anon.get(f"{TOPICS}ordered/").json()["stances"]

    assert [s["slug"] for s in stances] == ["zeta", "alpha", "mid"]


def test_detail_of_an_unknown_slug_is_a_json_404(anon, db):
    response = anon.get(f"{TOPICS}no-such-topic/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


# --- writes: topic managers, and moderators for the lock ------------------------------------


def test_create_anonymous_is_401(anon, db):
    response = anon.post(TOPICS, NEW_TOPIC, format="json")

    assert response.status_code == 401
    assert not Topic.objects.filter(slug="gpu-export").exists()


def test_create_by_a_plain_user_is_403(as_author):
    response = as_author.post(TOPICS, NEW_TOPIC, format="json")

    assert response.status_code == 403
    assert "detail" in response.json()
    assert not Topic.objects.filter(slug="gpu-export").exists()


def test_create_by_a_topic_manager_is_logged(as_topic_manager):
    response = as_topic_manager.post(TOPICS, NEW_TOPIC, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "gpu-export"
    assert body["title"] == "GPU export rules"
    assert body["question"] == "Should export limits on GPUs stay?"
    assert [(s["slug"], s["label"]) for s in body["stances"]] == [
        ("keep", "Keep the limits"),
        ("lift", "Lift the limits"),
        ("narrow", "Narrow them"),
    ]
    assert (body["thread_count"], body["reply_count"], body["is_locked"]) == (0, 0, False)
    topic = Topic.objects.get(slug="gpu-export")
    assert list(topic.stances.order_by("position").values_list("slug", flat=True)) == ["keep", "lift", "narrow"]
    (entry,) = ModerationAction.objects.filter(target_type="topic", target_id=topic.pk)
    assert (entry.action, entry.actor.username) == ("create-topic", "tess")
    assert entry.after["stances"] == ["keep", "lift", "narrow"]


def test_created_topic_is_readable_and_takes_threads(as_topic_manager, as_author):
    as_topic_manager.post(TOPICS, NEW_TOPIC, format="json")

    response = as_author.post(
        "/api/threads/",
        {"topic": "gpu-export", "title": "Keep them", "body": "They work.", "stance": "keep"},
        format="json",
    )

    assert response.status_code == 201, response.content


def test_create_with_a_taken_slug_is_400(as_topic_manager, topic):
    topics_before, stances_before = Topic.objects.count(), Stance.objects.count()

    response = as_topic_manager.post(TOPICS, {**NEW_TOPIC, "slug": "sora-leak"}, format="json")

    assert response.status_code == 400
    assert "slug" in response.json()
    assert (Topic.objects.count(), Stance.objects.count()) == (topics_before, stances_before)
    assert Topic.objects.get(slug="sora-leak").title == "Debate sora-leak"


@pytest.mark.parametrize("stances", [[], [{"slug": "only", "label": "The only side"}]])
def test_create_with_fewer_than_two_stances_is_400(as_topic_manager, stances):
    response = as_topic_manager.post(TOPICS, {**NEW_TOPIC, "stances": stances}, format="json")

    assert response.status_code == 400
    assert "stances" in response.json()
    assert not Topic.objects.filter(slug="gpu-export").exists()


def test_create_with_repeated_stance_slugs_is_400(as_topic_manager):
    stances = [{"slug": "same", "label": "One"}, {"slug": "same", "label": "Two"}]

    response = as_topic_manager.post(TOPICS, {**NEW_TOPIC, "stances": stances}, format="json")

    assert response.status_code == 400
    assert "stances" in response.json()
    assert not Topic.objects.filter(slug="gpu-export").exists()


@pytest.mark.parametrize("missing", ["slug", "title", "question", "stances"])
def test_create_names_a_missing_field(as_topic_manager, missing):
    payload = {key: value for key, value in NEW_TOPIC.items() if key != missing}

    response = as_topic_manager.post(TOPICS, payload, format="json")

    assert response.status_code == 400
    assert missing in response.json()
    assert not Topic.objects.filter(title="GPU export rules").exists()


def test_a_staff_moderator_locks_a_topic_and_it_then_refuses_threads(as_moderator, as_author, topic):
    response = as_moderator.patch(f"{TOPICS}sora-leak/", {"is_locked": True}, format="json")

    assert response.status_code == 200
    assert response.json()["is_locked"] is True
    topic.refresh_from_db()
    assert topic.is_locked is True
    refused = as_author.post(
        "/api/threads/",
        {"topic": "sora-leak", "title": "Late", "body": "Too late.", "stance": "pro-tester"},
        format="json",
    )
    assert refused.status_code == 403


def test_a_lock_through_the_api_lands_in_the_moderation_log(as_moderator, topic):
    as_moderator.patch(f"{TOPICS}sora-leak/", {"is_locked": True}, format="json")
    as_moderator.patch(f"{TOPICS}sora-leak/", {"is_locked": True, "title": "Locked"}, format="json")
    as_moderator.patch(f"{TOPICS}sora-leak/", {"is_locked": False}, format="json")

    log = ModerationAction.objects.filter(target_type="topic", target_id=topic.pk).order_by("pk")
    assert [(e.action, e.actor.username, e.before, e.after) for e in log] == [
        ("lock-topic", "mod", {"is_locked": False}, {"is_locked": True}),
        ("unlock-topic", "mod", {"is_locked": True}, {"is_locked": False}),
    ]  # the second PATCH changed the title only: locking a locked topic logs nothing


def test_a_lock_through_the_api_costs_a_fixed_number_of_queries(as_moderator, topic, query_budget):
    # 1 token joined to its user; 1 topic, 1 its stances (the view's object); 1 the user's permissions,
    # 1 their groups' (moderation); 1 the user's active suspension; 1 SELECT topic FOR UPDATE; 1 UPDATE its
    # lock; 1 INSERT the moderation log row; 1 topic, 1 its stances for the answer.
    with query_budget(11):
        response = as_moderator.patch(f"{TOPICS}sora-leak/", {"is_locked": True}, format="json")

    assert response.status_code == 200


def test_staff_who_do_not_moderate_cannot_lock(as_staff, topic):
    response = as_staff.patch(f"{TOPICS}sora-leak/", {"is_locked": True, "title": "Renamed"}, format="json")

    assert response.status_code == 403
    topic.refresh_from_db()
    assert (topic.is_locked, topic.title) == (False, "Debate sora-leak")  # nothing half-written
    assert not ModerationAction.objects.exists()


def test_a_topic_manager_edits_the_title_and_it_is_logged(as_topic_manager, topic):
    response = as_topic_manager.patch(f"{TOPICS}sora-leak/", {"title": "The Sora leak"}, format="json")

    assert response.status_code == 200
    assert response.json()["title"] == "The Sora leak"
    topic.refresh_from_db()
    assert topic.title == "The Sora leak"
    (entry,) = ModerationAction.objects.filter(target_type="topic", target_id=topic.pk)
    assert (entry.action, entry.before, entry.after) == (
        "edit-topic",
        {"title": "Debate sora-leak"},
        {"title": "The Sora leak"},
    )


@pytest.mark.parametrize(
    "payload", [{"title": "Renamed"}, {"question": "Who?"}, {"description": "More."}], ids=lambda p: next(iter(p))
)
def test_staff_without_rights_cannot_edit_a_topic(as_staff, topic, payload):
    response = as_staff.patch(f"{TOPICS}sora-leak/", payload, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Only topic managers may create or edit topics."}
    topic.refresh_from_db()
    assert (topic.title, topic.question, topic.description) == ("Debate sora-leak", "Who is right?", "")
    assert not ModerationAction.objects.exists()


def test_staff_without_rights_cannot_create_a_topic(as_staff):
    response = as_staff.post(TOPICS, NEW_TOPIC, format="json")

    assert response.status_code == 403
    assert not Topic.objects.filter(slug="gpu-export").exists()
    assert not ModerationAction.objects.exists()


def test_a_topic_manager_cannot_lock(as_topic_manager, topic):
    response = as_topic_manager.patch(f"{TOPICS}sora-leak/", {"is_locked": True}, format="json")

    assert response.status_code == 403
    topic.refresh_from_db()
    assert topic.is_locked is False


@pytest.mark.parametrize(("client_name", "status"), [("anon", 401), ("as_author", 403)])
def test_patch_by_a_plain_user_is_refused(request, topic, client_name, status):
    client = request.getfixturevalue(client_name)

    response = client.patch(f"{TOPICS}sora-leak/", {"is_locked": True}, format="json")

    assert response.status_code == status
    topic.refresh_from_db()
    assert topic.is_locked is False


def test_patch_unknown_topic_is_404(as_staff, db):
    assert as_staff.patch(f"{TOPICS}nope/", {"is_locked": True}, format="json").status_code == 404


def test_put_and_delete_are_not_offered(as_staff, topic):
    assert as_staff.put(f"{TOPICS}sora-leak/", NEW_TOPIC, format="json").status_code == 405
    assert as_staff.delete(f"{TOPICS}sora-leak/").status_code == 405
    assert Topic.objects.filter(slug="sora-leak").exists()


# --- query budgets (anonymous, so no token lookup) -------------------------------------------


@pytest.mark.parametrize("n_topics", [3, 25])
def test_list_query_count_is_constant(anon, django_assert_num_queries, n_topics, db, rival_topic):
    for i in range(n_topics - 1):  # plus rival_topic
        TopicFactory(slug=f"t-{i}")

    # 1 count, 1 page of topics, 1 prefetch of their stances
    with django_assert_num_queries(3):
        response = anon.get(TOPICS, {"page_size": 100})

    assert len(response.json()["results"]) == n_topics


def test_detail_query_count(anon, django_assert_num_queries, topic):
    # 1 topic by slug, 1 prefetch of its stances
    with django_assert_num_queries(2):
        response = anon.get(f"{TOPICS}sora-leak/")

    assert response.status_code == 200
