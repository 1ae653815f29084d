"""Replies: post one with a stance of the thread's topic, list and order them, edit and withdraw them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from discussions import services
from discussions.models import Participation, Reply, ReplyRevision, Stance, Thread, Topic
from tests.support.factories import TopicFactory, UserFactory, make_reply, make_thread

REPLIES = "/api/replies/"
CONTRACT_FIELDS = {
    "id",
    "thread",
    "parent",
    "author",
    "body",
    "stance",
    "upvotes",
    "downvotes",
    "score",
    "created_at",
    "updated_at",
}


def written():
    """Everything posting or editing a reply could write, to show a refused request wrote nothing."""
    return (
        Reply.objects.count(),
        ReplyRevision.objects.count(),
        list(Reply.objects.order_by("pk").values_list("body", "stance_id", "state")),
        list(Thread.objects.order_by("pk").values_list("reply_count")),
        list(Topic.objects.order_by("pk").values_list("reply_count")),
    )


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def counts(thread):
    thread.refresh_from_db()
    thread.topic.refresh_from_db()
    return thread.reply_count, thread.topic.reply_count


@pytest.fixture
def alices_reply(thread, author):
    """A reply by alice (the `author` fixture), so `as_author` edits their own reply."""
    return make_reply(thread=thread, author=author, stance="pro-tester", body="First version.")


@pytest.fixture
def referendum(db):
    """A topic whose stance slugs exist nowhere else."""
    return TopicFactory(slug="referendum", stances=(("yes", "Yes"), ("no", "No")))


# --- posting ---------------------------------------------------------------------------------


def test_post_a_reply(as_other, thread):
    response = as_other.post(
        REPLIES, {"thread": thread.pk, "body": "Testers chose to join.", "stance": "pro-openai"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= CONTRACT_FIELDS
    assert {key: body[key] for key in CONTRACT_FIELDS - {"id", "created_at", "updated_at"}} == {
        "thread": thread.pk,
        "parent": None,
        "author": "bob",
        "body": "Testers chose to join.",
        "stance": "pro-openai",
        "upvotes": 0,
        "downvotes": 0,
        "score": 0,
    }
    stored = Reply.objects.get(pk=body["id"])
    assert (stored.topic_id, stored.stance.topic_id, stored.state) == (thread.topic_id, thread.topic_id, "visible")
    assert counts(thread) == (2, 2)


def test_post_a_reply_to_a_reply(as_author, thread, reply):
    response = as_author.post(
        REPLIES,
        {"thread": thread.pk, "body": "Trade for what?", "stance": "pro-tester", "parent": reply.pk},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["parent"] == reply.pk
    assert Reply.objects.get(pk=response.json()["id"]).parent_id == reply.pk
    assert counts(thread) == (3, 3)


def test_the_answer_to_a_post_is_the_reply_as_it_is_read_back(as_author, anon, thread, reply):
    # Made from what the service wrote rather than read again: every field (rendered body, mentions, quotes,
    # the zeroed votes of each stance, both moments) must be what a later GET gives.
    body = f"@bob has a point.\n[quote={reply.pk}]\nHis words.\n[/quote]\n**Trade** for what, \u00e9t\u00e9 \U0001f600?"
    response = as_author.post(
        REPLIES, {"thread": thread.pk, "body": body, "stance": "pro-openai", "parent": reply.pk}, format="json"
    )

    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["mentions"], answer["quotes"], answer["parent"]) == (["bob"], [reply.pk], reply.pk)
    assert answer == anon.get(f"{REPLIES}{answer['id']}/").json()


def test_post_with_null_parent_is_a_root_reply(as_author, thread):
    response = as_author.post(
        REPLIES, {"thread": thread.pk, "body": "Root.", "stance": "pro-tester", "parent": None}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["parent"] is None


def test_a_body_of_exactly_20000_characters_is_accepted(as_other, thread):
    response = as_other.post(
        REPLIES, {"thread": thread.pk, "body": "b" * 20_000, "stance": "pro-openai"}, format="json"
    )

    assert response.status_code == 201
    assert len(response.json()["body"]) == 20_000


# --- refusals write nothing ------------------------------------------------------------------


def test_stance_of_another_topic_is_400(as_other, thread, referendum):
    before = written()

    response = as_other.post(REPLIES, {"thread": thread.pk, "body": "Yes!", "stance": "yes"}, format="json")

    assert response.status_code == 400
    assert "stance" in response.json()
    assert written() == before


def test_unknown_stance_is_400(as_other, thread):
    before = written()

    response = as_other.post(REPLIES, {"thread": thread.pk, "body": "Hmm.", "stance": "undecided"}, format="json")

    assert response.status_code == 400
    assert "stance" in response.json()
    assert written() == before


def test_parent_from_another_thread_is_400(as_other, thread, topic, author):
    elsewhere = make_thread(topic=topic, author=author, title="Elsewhere")
    before = written()

    response = as_other.post(
        REPLIES,
        {"thread": thread.pk, "body": "Wrong place.", "stance": "pro-openai", "parent": elsewhere.opening_reply_id},
        format="json",
    )

    assert response.status_code == 400
    assert "parent" in response.json()
    assert written() == before


def test_parent_from_another_topic_is_400(as_other, thread, rival_topic, author):
    rival_thread = make_thread(topic=rival_topic, author=author, title="Rival")
    before = written()

    response = as_other.post(
        REPLIES,
        {"thread": thread.pk, "body": "Wrong topic.", "stance": "pro-openai", "parent": rival_thread.opening_reply_id},
        format="json",
    )

    assert response.status_code == 400
    assert "parent" in response.json()
    assert written() == before


def test_unknown_parent_is_400(as_other, thread):
    before = written()

    response = as_other.post(
        REPLIES, {"thread": thread.pk, "body": "To whom?", "stance": "pro-openai", "parent": 999_999}, format="json"
    )

    assert response.status_code == 400
    assert "parent" in response.json()
    assert written() == before


@pytest.mark.parametrize("state", ["withdrawn", "hidden"])
def test_parent_that_is_not_visible_is_400(as_author, thread, reply, state):
    Reply.objects.filter(pk=reply.pk).update(state=state)
    before = written()

    response = as_author.post(
        REPLIES,
        {"thread": thread.pk, "body": "Answering a ghost.", "stance": "pro-tester", "parent": reply.pk},
        format="json",
    )

    assert response.status_code == 400
    assert "parent" in response.json()
    assert written() == before


def test_parent_withdrawn_through_the_api_is_400(as_author, as_other, thread, reply):
    assert as_other.delete(f"{REPLIES}{reply.pk}/").status_code == 204
    before = written()

    response = as_author.post(
        REPLIES, {"thread": thread.pk, "body": "Too late.", "stance": "pro-tester", "parent": reply.pk}, format="json"
    )

    assert response.status_code == 400
    assert "parent" in response.json()
    assert written() == before


@pytest.mark.parametrize("thread_id", [999_999, 0, "abc"])
def test_unknown_thread_is_400(as_other, thread, thread_id):
    before = written()

    response = as_other.post(REPLIES, {"thread": thread_id, "body": "Lost.", "stance": "pro-openai"}, format="json")

    assert response.status_code == 400
    assert "thread" in response.json()
    assert written() == before


@pytest.mark.parametrize("body", ["", "   ", "\n\t"])
def test_blank_body_is_400(as_other, thread, body):
    before = written()

    response = as_other.post(REPLIES, {"thread": thread.pk, "body": body, "stance": "pro-openai"}, format="json")

    assert response.status_code == 400
    assert "body" in response.json()
    assert written() == before


def test_body_over_20000_characters_is_400(as_other, thread):
    before = written()

    response = as_other.post(
        REPLIES, {"thread": thread.pk, "body": "b" * 20_001, "stance": "pro-openai"}, format="json"
    )

    assert response.status_code == 400
    assert "body" in response.json()
    assert written() == before


@pytest.mark.parametrize("body", ["nul\x00here", "\x00", "bell\x07"])
def test_control_characters_in_body_are_400_not_500(as_other, thread, body):
    before = written()

    response = as_other.post(REPLIES, {"thread": thread.pk, "body": body, "stance": "pro-openai"}, format="json")

    assert response.status_code == 400
    assert "body" in response.json()
    assert written() == before


def test_missing_fields_are_each_named(as_other, thread):
    before = written()

    response = as_other.post(REPLIES, {}, format="json")

    assert response.status_code == 400
    assert {"thread", "body", "stance"} <= set(response.json())
    assert written() == before


def test_anonymous_is_401(anon, thread):
    before = written()

    response = anon.post(REPLIES, {"thread": thread.pk, "body": "Hi.", "stance": "pro-openai"}, format="json")

    assert response.status_code == 401
    assert written() == before


def test_locked_thread_is_403_with_detail(as_other, thread):
    thread.is_locked = True
    thread.save()
    before = written()

    response = as_other.post(REPLIES, {"thread": thread.pk, "body": "Hi.", "stance": "pro-openai"}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"]
    assert written() == before


def test_locked_topic_is_403_with_detail(as_other, thread, topic):
    topic.is_locked = True
    topic.save()
    before = written()

    response = as_other.post(REPLIES, {"thread": thread.pk, "body": "Hi.", "stance": "pro-openai"}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"]
    assert written() == before


# --- reading one -----------------------------------------------------------------------------


def test_detail(anon, thread, reply):
    response = anon.get(f"{REPLIES}{reply.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= CONTRACT_FIELDS
    assert (body["id"], body["thread"], body["parent"], body["author"]) == (reply.pk, thread.pk, None, "bob")
    assert (body["body"], body["stance"]) == ("Early access is the usual trade.", "pro-openai")
    assert (body["upvotes"], body["downvotes"], body["score"]) == (0, 0, 0)


def test_detail_of_an_unknown_id_is_404(anon, reply):
    response = anon.get(f"{REPLIES}{reply.pk + 1000}/")

    assert response.status_code == 404
    assert "detail" in response.json()


def test_detail_of_a_non_numeric_id_is_a_json_404(anon, db):
    response = anon.get(f"{REPLIES}abc/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


# --- listing and filtering -------------------------------------------------------------------


@pytest.fixture
def conversation(topic, rival_topic, author, other):
    """Replies in two threads of sora-leak and one thread of the rival topic (same stance slugs)."""
    main = make_thread(topic=topic, author=author, stance="pro-tester", title="Main")
    side = make_thread(topic=topic, author=other, stance="pro-openai", title="Side")
    rival = make_thread(topic=rival_topic, author=author, stance="pro-tester", title="Rival")
    r1 = make_reply(thread=main, author=other, stance="pro-openai", body="r1")
    r2 = make_reply(thread=main, author=author, stance="pro-tester", body="r2", parent=r1)
    r3 = make_reply(thread=main, author=other, stance="pro-tester", body="r3", parent=r1)
    r4 = make_reply(thread=side, author=author, stance="pro-tester", body="r4")
    r5 = make_reply(thread=rival, author=other, stance="pro-tester", body="r5")
    return {
        "main": main,
        "side": side,
        "rival": rival,
        "main_op": main.opening_reply,
        "side_op": side.opening_reply,
        "rival_op": rival.opening_reply,
        "r1": r1,
        "r2": r2,
        "r3": r3,
        "r4": r4,
        "r5": r5,
    }


def pks(conversation, *names):
    return [conversation[name].pk for name in names]


def test_filter_by_thread(anon, conversation):
    assert ids(anon.get(REPLIES, {"thread": conversation["main"].pk})) == pks(conversation, "main_op", "r1", "r2", "r3")
    assert ids(anon.get(REPLIES, {"thread": conversation["side"].pk})) == pks(conversation, "side_op", "r4")


def test_filter_by_topic(anon, conversation):
    assert ids(anon.get(REPLIES, {"topic": "sora-leak"})) == pks(
        conversation, "main_op", "side_op", "r1", "r2", "r3", "r4"
    )
    assert ids(anon.get(REPLIES, {"topic": "rival-debate"})) == pks(conversation, "rival_op", "r5")


def test_filter_by_stance_and_topic_keeps_the_rival_topic_out(anon, conversation):
    # The rival topic's "pro-tester" is a different stance with the same slug.
    response = anon.get(REPLIES, {"stance": "pro-tester", "topic": "sora-leak"})

    assert ids(response) == pks(conversation, "main_op", "r2", "r3", "r4")


def test_filter_by_stance_alone_spans_topics(anon, conversation):
    response = anon.get(REPLIES, {"stance": "pro-tester"})

    assert set(ids(response)) == set(pks(conversation, "main_op", "rival_op", "r2", "r3", "r4", "r5"))


def test_filter_by_stance_within_a_thread(anon, conversation):
    response = anon.get(REPLIES, {"thread": conversation["main"].pk, "stance": "pro-openai"})

    assert ids(response) == pks(conversation, "r1")


@pytest.mark.parametrize("by", ["username", "id"])
def test_filter_by_author(anon, conversation, other, by):
    value = other.username if by == "username" else other.pk

    response = anon.get(REPLIES, {"topic": "sora-leak", "author": value})

    assert ids(response) == pks(conversation, "side_op", "r1", "r3")


def test_filter_by_parent(anon, conversation):
    assert ids(anon.get(REPLIES, {"parent": conversation["r1"].pk})) == pks(conversation, "r2", "r3")
    assert ids(anon.get(REPLIES, {"parent": conversation["r2"].pk})) == []


def test_filter_is_root(anon, conversation):
    main = conversation["main"].pk

    assert ids(anon.get(REPLIES, {"thread": main, "is_root": "true"})) == pks(conversation, "main_op", "r1")
    assert ids(anon.get(REPLIES, {"thread": main, "is_root": "false"})) == pks(conversation, "r2", "r3")


def test_lists_leave_out_withdrawn_and_hidden_replies(anon, conversation):
    Reply.objects.filter(pk=conversation["r2"].pk).update(state="withdrawn")
    Reply.objects.filter(pk=conversation["r3"].pk).update(state="hidden")

    assert ids(anon.get(REPLIES, {"thread": conversation["main"].pk})) == pks(conversation, "main_op", "r1")
    assert ids(anon.get(REPLIES, {"parent": conversation["r1"].pk})) == []


def test_a_bad_filter_value_is_400(anon, conversation):
    response = anon.get(REPLIES, {"thread": "abc"})

    assert response.status_code == 400
    assert "thread" in response.json()


# --- ordering --------------------------------------------------------------------------------


@pytest.fixture
def voted(thread, other):
    """Three replies whose `best` and `-score` orders differ.

    unanimous: 10 up, 0 down  -> score 10, Wilson lower bound ~0.72
    popular:   30 up, 15 down -> score 15, Wilson lower bound ~0.52
    lone:       1 up, 0 down  -> score 1,  Wilson lower bound ~0.21
    The opening post has no votes: score 0, bound 0.
    """
    start = timezone.now() - timedelta(hours=1)
    replies = {}
    for i, name in enumerate(["unanimous", "popular", "lone"]):
        replies[name] = make_reply(thread=thread, author=other, body=name)
        Reply.objects.filter(pk=replies[name].pk).update(created_at=start + timedelta(minutes=i + 1))
    Reply.objects.filter(pk=thread.opening_reply_id).update(created_at=start)
    replies["opening"] = thread.opening_reply
    voters = [UserFactory(username=f"voter{i}") for i in range(45)]
    for voter in voters[:10]:
        services.vote_cast(actor=voter, reply_id=replies["unanimous"].pk, value=1)
    for i, voter in enumerate(voters):
        services.vote_cast(actor=voter, reply_id=replies["popular"].pk, value=1 if i < 30 else -1)
    services.vote_cast(actor=voters[0], reply_id=replies["lone"].pk, value=1)
    return replies


def order(voted, *names):
    return [voted[name].pk for name in names]


def test_ordering_defaults_to_conversation_order(anon, thread, voted):
    assert ids(anon.get(REPLIES, {"thread": thread.pk})) == order(voted, "opening", "unanimous", "popular", "lone")


def test_ordering_created_at(anon, thread, voted):
    oldest_first = order(voted, "opening", "unanimous", "popular", "lone")

    assert ids(anon.get(REPLIES, {"thread": thread.pk, "ordering": "created_at"})) == oldest_first
    assert ids(anon.get(REPLIES, {"thread": thread.pk, "ordering": "-created_at"})) == oldest_first[::-1]


def test_ordering_by_score(anon, thread, voted):
    response = anon.get(REPLIES, {"thread": thread.pk, "ordering": "-score"})

    assert ids(response) == order(voted, "popular", "unanimous", "lone", "opening")
    results = response.json()["results"]
    assert [(r["upvotes"], r["downvotes"], r["score"]) for r in results] == [
        (30, 15, 15),
        (10, 0, 10),
        (1, 0, 1),
        (0, 0, 0),
    ]


def test_ordering_best_ranks_confidence_over_raw_score(anon, thread, voted):
    # 10/0 beats 30/15 on `best` although its score is lower; 1/0 stays below 10/0 although both are unanimous.
    response = anon.get(REPLIES, {"thread": thread.pk, "ordering": "best"})

    assert ids(response) == order(voted, "unanimous", "popular", "lone", "opening")


def test_ordering_best_follows_a_vote_change(anon, thread, voted):
    lone = voted["lone"]
    for i in range(20):
        services.vote_cast(actor=UserFactory(username=f"late{i}"), reply_id=lone.pk, value=1)

    response = anon.get(REPLIES, {"thread": thread.pk, "ordering": "best"})

    assert ids(response)[0] == lone.pk  # 21 up, 0 down is now the most convincing


def test_unknown_ordering_is_400(anon, thread):
    response = anon.get(REPLIES, {"thread": thread.pk, "ordering": "upvotes"})

    assert response.status_code == 400
    assert "ordering" in response.json()


# --- pagination ------------------------------------------------------------------------------


def test_page_size_is_honoured(anon, thread, other):
    for i in range(4):
        make_reply(thread=thread, author=other, body=f"r{i}")

    body = anon.get(REPLIES, {"thread": thread.pk, "page_size": 2}).json()

    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["next"] is not None
    second = anon.get(body["next"]).json()
    third = anon.get(second["next"]).json()
    assert third["next"] is None
    seen = [r["id"] for page in (body, second, third) for r in page["results"]]
    assert seen == list(Reply.objects.filter(thread=thread).order_by("created_at", "id").values_list("pk", flat=True))


def test_page_size_is_capped_at_100(anon, thread, other):
    for i in range(104):
        make_reply(thread=thread, author=other, body=f"r{i}")

    body = anon.get(REPLIES, {"thread": thread.pk, "page_size": 1000}).json()

    assert body["count"] == 105
    assert len(body["results"]) == 100
    assert body["next"] is not None


# --- editing ---------------------------------------------------------------------------------


def test_author_edits_the_body_and_the_old_one_is_kept(as_author, author, alices_reply):
    response = as_author.patch(f"{REPLIES}{alices_reply.pk}/", {"body": "Second version."}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["body"] == "Second version."
    assert response.json()["stance"] == "pro-tester"
    alices_reply.refresh_from_db()
    assert alices_reply.body == "Second version."
    revision = ReplyRevision.objects.get(reply=alices_reply)
    assert (revision.body, revision.stance.slug, revision.edited_by) == ("First version.", "pro-tester", author)


def test_each_edit_keeps_a_revision(as_author, alices_reply):
    as_author.patch(f"{REPLIES}{alices_reply.pk}/", {"body": "Second version."}, format="json")
    as_author.patch(f"{REPLIES}{alices_reply.pk}/", {"body": "Third version."}, format="json")

    revisions = ReplyRevision.objects.filter(reply=alices_reply).order_by("created_at", "id")
    assert list(revisions.values_list("body", flat=True)) == ["First version.", "Second version."]
    alices_reply.refresh_from_db()
    assert alices_reply.body == "Third version."


def test_author_changes_stance_within_the_topic(as_author, alices_reply, topic):
    response = as_author.patch(f"{REPLIES}{alices_reply.pk}/", {"stance": "pro-openai"}, format="json")

    assert response.status_code == 200
    assert response.json()["stance"] == "pro-openai"
    alices_reply.refresh_from_db()
    assert (alices_reply.stance.slug, alices_reply.stance.topic_id) == ("pro-openai", topic.pk)
    assert alices_reply.body == "First version."
    revision = ReplyRevision.objects.get(reply=alices_reply)
    assert (revision.body, revision.stance.slug) == ("First version.", "pro-tester")


def test_an_edit_that_changes_nothing_keeps_no_revision(as_author, alices_reply):
    response = as_author.patch(f"{REPLIES}{alices_reply.pk}/", {"body": "First version."}, format="json")

    assert response.status_code == 200
    assert not ReplyRevision.objects.filter(reply=alices_reply).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"stance": "undecided"}, "stance"),
        ({"stance": "yes"}, "stance"),  # a stance of the referendum topic only
        ({"body": "   "}, "body"),
        ({"body": "b" * 20_001}, "body"),
        ({"body": "nul\x00"}, "body"),
    ],
)
def test_invalid_edit_is_400_and_changes_nothing(as_author, alices_reply, referendum, payload, field):
    before = written()

    response = as_author.patch(f"{REPLIES}{alices_reply.pk}/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert written() == before


def test_another_user_may_not_edit(as_other, alices_reply):
    before = written()

    response = as_other.patch(f"{REPLIES}{alices_reply.pk}/", {"body": "Hijacked."}, format="json")

    assert response.status_code == 403
    assert "detail" in response.json()
    assert written() == before


def test_moderator_may_edit(as_moderator, moderator, alices_reply):
    response = as_moderator.patch(f"{REPLIES}{alices_reply.pk}/", {"body": "[edited by a moderator]"}, format="json")

    assert response.status_code == 200
    alices_reply.refresh_from_db()
    assert alices_reply.body == "[edited by a moderator]"
    assert alices_reply.author.username == "alice"  # still the author's reply
    assert ReplyRevision.objects.get(reply=alices_reply).edited_by == moderator


def test_anonymous_may_not_edit(anon, alices_reply):
    before = written()

    assert anon.patch(f"{REPLIES}{alices_reply.pk}/", {"body": "Anon."}, format="json").status_code == 401
    assert written() == before


def test_editing_a_withdrawn_reply_is_404(as_author, alices_reply):
    as_author.delete(f"{REPLIES}{alices_reply.pk}/")
    before = written()

    response = as_author.patch(f"{REPLIES}{alices_reply.pk}/", {"body": "Back again."}, format="json")

    assert response.status_code == 404
    assert written() == before


def test_editing_an_unknown_reply_is_404(as_author, db):
    assert as_author.patch(f"{REPLIES}999999/", {"body": "?"}, format="json").status_code == 404


# --- withdrawing -----------------------------------------------------------------------------


def test_author_withdraws_a_reply(as_author, anon, thread, alices_reply):
    assert counts(thread) == (2, 2)

    response = as_author.delete(f"{REPLIES}{alices_reply.pk}/")

    assert response.status_code in (200, 204)
    assert anon.get(f"{REPLIES}{alices_reply.pk}/").status_code == 404
    assert alices_reply.pk not in ids(anon.get(REPLIES, {"thread": thread.pk}))
    assert alices_reply.pk not in ids(anon.get(REPLIES, {"topic": "sora-leak"}))
    stored = Reply.objects.get(pk=alices_reply.pk)  # never erased
    assert stored.state == "withdrawn"
    assert stored.withdrawn_at is not None
    assert stored.body == "First version."
    assert counts(thread) == (1, 1)
    assert anon.get(f"/api/threads/{thread.pk}/").json()["reply_count"] == 1
    assert anon.get("/api/topics/sora-leak/").json()["reply_count"] == 1


def test_another_user_may_not_withdraw(as_other, alices_reply, thread):
    before = written()

    response = as_other.delete(f"{REPLIES}{alices_reply.pk}/")

    assert response.status_code == 403
    assert "detail" in response.json()
    assert written() == before


def test_moderator_may_withdraw(as_moderator, alices_reply, thread):
    response = as_moderator.delete(f"{REPLIES}{alices_reply.pk}/")

    assert response.status_code in (200, 204)
    assert Reply.objects.get(pk=alices_reply.pk).state == "withdrawn"
    assert counts(thread) == (1, 1)


def test_anonymous_may_not_withdraw(anon, alices_reply):
    before = written()

    assert anon.delete(f"{REPLIES}{alices_reply.pk}/").status_code == 401
    assert written() == before


def test_withdrawing_twice_is_404_and_counts_drop_once(as_author, alices_reply, thread):
    assert as_author.delete(f"{REPLIES}{alices_reply.pk}/").status_code in (200, 204)

    response = as_author.delete(f"{REPLIES}{alices_reply.pk}/")

    assert response.status_code == 404
    assert counts(thread) == (1, 1)


def test_withdrawing_an_unknown_reply_is_404(as_author, db):
    assert as_author.delete(f"{REPLIES}999999/").status_code == 404


# --- query budgets ---------------------------------------------------------------------------


# A reply's counter moves after its participations (stance tallies, the day's roll-up, thread, topic) and its
# outbox row are one statement on PostgreSQL (WITH ... UPDATE ... INSERT ... ON CONFLICT) and one statement each
# elsewhere.
COUNTER_MOVES = 1 if connection.vendor == "postgresql" else 5
# A first reply in a scope inserts its missing participations in the statement that updates the others on
# PostgreSQL (a data-modifying WITH), by a second statement on SQLite.
PARTICIPATIONS_ADDED = 0 if connection.vendor == "postgresql" else 1
# Notified readers' inboxes are upserted in the notifications' own INSERT on PostgreSQL (a data-modifying WITH),
# by a second statement on SQLite.
NOTIFY_INBOXES = 0 if connection.vendor == "postgresql" else 1


def test_posting_a_reply_costs_a_fixed_number_of_queries(as_author, thread, query_budget):
    # The author opened the thread with this stance: every counter row the reply moves exists already.
    body = {"thread": thread.pk, "body": "One more point.", "stance": "pro-tester"}
    # 1 token with its user and whether a suspension is in force (no query of its own);
    # 1 the topic's stances with the topic and whether the thread is locked (and the parent, when given);
    # 1 INSERT reply; 1 its search entry (discussions/search.py; no mention or quote to look up here);
    # 1 UPDATE the author's four participations (locked in key order, new counts returned);
    # the counter moves: UPDATE both stance tallies (no SELECT first); upsert of the day's roll-up;
    # UPDATE thread; UPDATE topic; INSERT the outbox row (discussions/services/events.py), its id returned;
    # 1 INSERT the notifications (discussions/services/notifications.py): the thread's one watcher is the
    #   poster, so none, and no inbox upsert follows on SQLite (on PostgreSQL the upsert is in that statement);
    # the answer: none, made from the reply, topic, stance and author the service wrote it with.
    with query_budget(6 + COUNTER_MOVES):
        response = as_author.post(REPLIES, body, format="json")

    assert response.status_code == 201, response.content


def test_a_first_reply_in_another_thread_inserts_its_two_new_participations_moved(
    as_author, author, thread, topic, query_budget
):
    elsewhere = make_thread(topic=topic, author=UserFactory(username="opener"), stance="pro-openai", title="Other")
    body = {"thread": elsewhere.pk, "body": "Here too.", "stance": "pro-tester"}
    # As above, but the author has no participation in this thread yet: the UPDATE finds the topic's two, an
    # INSERT ... ON CONFLICT DO NOTHING writes the thread's two with the reply already counted (one statement
    # on PostgreSQL); the thread's opener, watching, is told (their inbox upserted in the same statement on
    # PostgreSQL, a second on SQLite).
    with query_budget(6 + PARTICIPATIONS_ADDED + COUNTER_MOVES + NOTIFY_INBOXES):
        response = as_author.post(REPLIES, body, format="json")

    assert response.status_code == 201, response.content
    tester = Stance.objects.get(topic=topic, slug="pro-tester").pk
    mine = Participation.objects.filter(user=author, topic=topic).values_list("thread_id", "stance_id", "replies")
    assert sorted(mine, key=str) == sorted(
        [(None, None, 2), (None, tester, 2), (thread.pk, None, 1), (thread.pk, tester, 1)]
        + [(elsewhere.pk, None, 1), (elsewhere.pk, tester, 1)],
        key=str,
    )
    elsewhere.refresh_from_db()
    assert (elsewhere.reply_count, elsewhere.participant_count) == (2, 2)


def test_a_first_reply_in_a_thread_makes_its_counter_rows_once(as_other, thread, query_budget):
    body = {"thread": thread.pk, "body": "A newcomer's point.", "stance": "pro-openai"}
    # The poster has no participation in the topic yet, and nobody has replied with this stance (its tallies
    # were born with the thread): 1 token; 1 the topic's stances; 1 INSERT reply; 1 its search entry;
    # 1 UPDATE participations (none found) with the INSERT of the four, the reply counted (ON CONFLICT DO
    # NOTHING; a second statement on SQLite); the counter moves with the outbox row;
    # the opener, watching, is told: 1 INSERT ... SELECT of the notifications with the upsert of their inboxes
    # (one statement on PostgreSQL, a second on SQLite); the answer from what was written.
    with query_budget(6 + PARTICIPATIONS_ADDED + COUNTER_MOVES + NOTIFY_INBOXES):
        response = as_other.post(REPLIES, body, format="json")

    assert response.status_code == 201, response.content
    thread.refresh_from_db()
    assert (thread.reply_count, thread.participant_count) == (2, 2)


@pytest.mark.parametrize("n_replies", [3, 25])
@pytest.mark.parametrize("ordering", [None, "-created_at", "-score", "best"])
def test_list_query_count_is_constant(anon, django_assert_num_queries, thread, n_replies, ordering):
    authors = [UserFactory(username=f"poster{i}") for i in range(5)]
    for i in range(n_replies - 1):  # plus the opening post
        make_reply(thread=thread, author=authors[i % 5], stance=("pro-tester", "pro-openai")[i % 2])
    params = {"thread": thread.pk, "page_size": 100}
    if ordering:
        params["ordering"] = ordering

    # anonymous: no auth query; 1 the thread's reply_count, 1 page of replies joined to author, stance and topic
    with django_assert_num_queries(2):
        response = anon.get(REPLIES, params)

    assert len(response.json()["results"]) == n_replies


def test_list_query_count_with_a_token(as_author, django_assert_num_queries, thread, other):
    for _ in range(5):
        make_reply(thread=thread, author=other)

    # 1 token lookup joined to its user, 1 the thread's reply_count, 1 page with joins
    with django_assert_num_queries(3):
        response = as_author.get(REPLIES, {"thread": thread.pk})

    assert len(response.json()["results"]) == 6


@pytest.mark.parametrize("n_replies", [3, 25])
def test_detail_query_count_is_constant(anon, django_assert_num_queries, thread, other, n_replies):
    replies = [make_reply(thread=thread, author=other) for _ in range(n_replies)]

    # 1 reply joined to author, stance and topic
    with django_assert_num_queries(1):
        response = anon.get(f"{REPLIES}{replies[-1].pk}/")

    assert response.status_code == 200
