"""Users declare their side on a topic; a change is kept as history and moves the summary's headcounts."""

import pytest
from django.db import connection

from discussions import services
from discussions.models import Position, Reply, Topic
from tests.support.clients import client_for
from tests.support.factories import TopicFactory, UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db

URL = "/api/topics/sora-leak/position/"
SUMMARY = "/api/topics/sora-leak/summary/"


def put(client, stance, persuaded_by=None, url=URL):
    body = {"stance": stance}
    if persuaded_by is not None:
        body["persuaded_by"] = persuaded_by
    return client.put(url, body, format="json")


def written():
    """Everything a declaration could write, to show a refused one wrote nothing."""
    return (
        list(Position.objects.order_by("pk").values_list("user_id", "stance_id", "until", "persuaded_by_id")),
        list(Topic.objects.order_by("pk").values_list("shift_count")),
        list(Reply.objects.order_by("pk").values_list("persuaded_count")),
    )


def test_first_declaration_has_no_previous(topic, as_author, author):
    response = put(as_author, "pro-tester")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"stance", "since", "previous"}
    assert (body["stance"], body["previous"]) == ("pro-tester", None)
    position = Position.objects.get(user=author)
    assert (position.stance.slug, position.topic, position.until) == ("pro-tester", topic, None)


def test_a_change_names_the_stance_held_before(topic, as_author, author):
    put(as_author, "pro-tester")
    to_openai = put(as_author, "pro-openai")
    back = put(as_author, "pro-tester")

    assert (to_openai.status_code, back.status_code) == (200, 200)
    assert (to_openai.json()["stance"], to_openai.json()["previous"]) == ("pro-openai", "pro-tester")
    assert (back.json()["stance"], back.json()["previous"]) == ("pro-tester", "pro-openai")
    # Kept as history, never overwritten: three rows, only the last one open.
    rows = list(Position.objects.filter(user=author).order_by("since", "id").values_list("stance__slug", "until"))
    assert [slug for slug, _ in rows] == ["pro-tester", "pro-openai", "pro-tester"]
    assert [until is None for _, until in rows] == [False, False, True]


def test_the_same_stance_again_changes_nothing(topic, as_author, author, anon):
    first = put(as_author, "pro-tester").json()
    again = put(as_author, "pro-tester")

    assert again.status_code == 200
    assert again.json() == first  # same since, still no previous: no new row was started
    assert Position.objects.filter(user=author).count() == 1
    summary = anon.get(SUMMARY).json()
    assert summary["shifts"] == 0
    assert [s["positions"] for s in summary["stances"]] == [1, 0]


def test_the_same_stance_after_a_change_keeps_the_previous(topic, as_author, author):
    put(as_author, "pro-tester")
    changed = put(as_author, "pro-openai").json()
    again = put(as_author, "pro-openai").json()

    assert again == changed == {"stance": "pro-openai", "since": changed["since"], "previous": "pro-tester"}
    assert Position.objects.filter(user=author).count() == 2


def test_history_is_oldest_first_with_the_current_one_last(topic, reply, as_author):
    first = put(as_author, "pro-tester").json()
    second = put(as_author, "pro-openai", persuaded_by=reply.pk).json()

    response = as_author.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "stance": "pro-openai",
        "since": second["since"],
        "history": [
            # The earlier position ends the moment the new one starts.
            {"stance": "pro-tester", "since": first["since"], "until": second["since"], "persuaded_by": None},
            {"stance": "pro-openai", "since": second["since"], "until": None, "persuaded_by": reply.pk},
        ],
    }


def test_history_is_the_callers_own_on_this_topic_only(topic, rival_topic, as_author, as_other):
    put(as_other, "pro-tester")  # someone else's position
    put(as_author, "pro-openai", url="/api/topics/rival-debate/position/")  # the same slug on the rival topic

    response = as_author.get(URL)

    assert response.status_code == 404
    assert "detail" in response.json()


def test_anonymous_is_401_on_both(topic, anon):
    assert put(anon, "pro-tester").status_code == 401
    assert anon.get(URL).status_code == 401
    assert Position.objects.count() == 0


def test_unknown_topic_is_404(as_author):
    assert put(as_author, "pro-tester", url="/api/topics/no-such-topic/position/").status_code == 404
    assert as_author.get("/api/topics/no-such-topic/position/").status_code == 404
    assert Position.objects.count() == 0


@pytest.mark.parametrize(
    "stance",
    [
        "pro-nobody",  # no topic has it
        "yes",  # a stance of another topic only
        "",  # blank
    ],
)
def test_a_stance_that_is_not_the_topics_is_400_naming_stance(stance, topic, as_author):
    TopicFactory(slug="referendum", stances=(("yes", "Yes"), ("no", "No")))
    put(as_author, "pro-tester")
    before = written()

    response = put(as_author, stance)

    assert response.status_code == 400
    assert list(response.json()) == ["stance"]
    assert written() == before


@pytest.fixture
def bad_persuaders(topic, rival_topic, thread, author, other):
    """Reply ids a declaration must refuse to name, by why."""
    rival_reply = make_thread(topic=rival_topic, author=other).opening_reply
    withdrawn = make_reply(thread=thread, author=other, body="Soon gone.")
    services.reply_withdraw(actor=other, reply_id=withdrawn.pk)
    return {"of another topic": rival_reply.pk, "withdrawn": withdrawn.pk, "unknown": 999_999}


@pytest.mark.parametrize("why", ["of another topic", "withdrawn", "unknown"])
def test_a_persuader_that_is_not_a_visible_reply_of_the_topic_is_400_naming_persuaded_by(
    why, bad_persuaders, as_author
):
    put(as_author, "pro-tester")
    before = written()

    # A change of side, so a refusal that still wrote something would show as a shift.
    response = put(as_author, "pro-openai", persuaded_by=bad_persuaders[why])

    assert response.status_code == 400
    assert list(response.json()) == ["persuaded_by"]
    assert written() == before
    assert as_author.get(URL).json()["stance"] == "pro-tester"


@pytest.mark.parametrize("value", ["abc", 0, -3])
def test_a_persuader_that_is_not_an_id_is_400(value, topic, as_author):
    response = as_author.put(URL, {"stance": "pro-tester", "persuaded_by": value}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["persuaded_by"]
    assert Position.objects.count() == 0


@pytest.fixture
def declared(topic, rival_topic, thread, author):
    """Four users declare (and change) sides; every summary number below is worked out from this."""
    r_a = make_reply(thread=thread, author=author, stance="pro-openai", body="r_a")
    r_b = make_reply(thread=thread, author=author, stance="pro-tester", body="r_b")
    make_reply(thread=thread, author=author, stance="pro-tester", body="r_c")  # named by nobody
    u1, u2, u3, u4, u5 = (client_for(UserFactory(username=f"u{i}")) for i in range(1, 6))
    put(u1, "pro-tester")
    put(u2, "pro-tester")
    put(u2, "pro-openai", persuaded_by=r_a.pk)  # shift 1
    put(u3, "pro-openai")
    put(u3, "pro-tester", persuaded_by=r_b.pk)  # shift 2
    put(u3, "pro-openai", persuaded_by=r_a.pk)  # shift 3
    put(u3, "pro-openai", persuaded_by=r_b.pk)  # same side again: no shift, r_b not counted
    put(u4, "pro-openai", persuaded_by=r_a.pk)  # a first declaration may name a persuader too; no shift
    put(u5, "pro-tester", url="/api/topics/rival-debate/position/")  # another topic: not counted here
    return {"r_a": r_a, "r_b": r_b}


def test_summary_counts_current_holders_shifts_and_persuaders(declared, anon):
    body = anon.get(SUMMARY).json()

    # Current: u1 tester; u2, u3, u4 openai. Earlier positions are not held any more.
    assert [(s["stance"], s["positions"]) for s in body["stances"]] == [("pro-tester", 1), ("pro-openai", 3)]
    assert body["shifts"] == 3  # u2 once, u3 twice; first declarations and repeats are not shifts
    # r_a named 3 times, r_b once; r_a is the older reply, so this is the count's order, not the id's.
    assert [(r["id"], r["body"]) for r in body["persuasive"]] == [
        (declared["r_a"].pk, "r_a"),
        (declared["r_b"].pk, "r_b"),
    ]


def test_positions_on_another_topic_stay_there(declared, anon):
    body = anon.get("/api/topics/rival-debate/summary/").json()

    assert [s["positions"] for s in body["stances"]] == [1, 0]
    assert (body["shifts"], body["persuasive"]) == (0, [])


def test_a_withdrawn_persuader_leaves_the_persuasive_list(declared, author, anon):
    services.reply_withdraw(actor=author, reply_id=declared["r_a"].pk)

    body = anon.get(SUMMARY).json()

    assert [r["id"] for r in body["persuasive"]] == [declared["r_b"].pk]
    # The positions it won stay where they are.
    assert [s["positions"] for s in body["stances"]] == [1, 3]
    assert body["shifts"] == 3


# A declaration's counter moves (both stances' tallies, their day rows, the topic's shift count), the positions'
# rows (the old one ended, the new one inserted) and its outbox row are one statement on PostgreSQL (WITH ...
# UPDATE ... INSERT ... ON CONFLICT) and one statement each elsewhere.
COUNTER_MOVES = 1 if connection.vendor == "postgresql" else 6


def test_changing_position_costs_a_fixed_number_of_queries(topic, as_author, query_budget):
    put(as_author, "pro-openai")
    put(as_author, "pro-tester")  # both stances' tally rows exist from here on
    # 1 token with its user and whether a suspension is in force (no query of its own);
    # 1 SELECT the user FOR NO KEY UPDATE (one declaration of theirs at a time);
    # 1 the topic's stances with the topic and the user's current position;
    # the counter moves: UPDATE both stances' tallies (locked in key order, no SELECT first); upsert of both
    # stances' day rows; UPDATE topic (one more shift); UPDATE the current position (ended); INSERT the new
    # one; INSERT the outbox row (discussions/services/events.py);
    # the answer reads nothing: its topic, stance and previous stance are the service's own.
    with query_budget(3 + COUNTER_MOVES):
        response = put(as_author, "pro-openai")

    assert response.status_code == 200, response.content
    assert response.json()["previous"] == "pro-tester"


def test_the_position_a_declaration_hands_back_is_the_row_it_wrote(topic, author, other):
    services.position_set(actor=other, topic_slug="sora-leak", stance_slug="pro-openai")  # someone else's row first
    first = services.position_set(actor=author, topic_slug="sora-leak", stance_slug="pro-tester")
    changed = services.position_set(actor=author, topic_slug="sora-leak", stance_slug="pro-openai")

    # Written inside the counters' statement, its id comes back from there: the open row is the one handed back.
    assert Position.objects.get(user=author, until=None).pk == changed.pk
    assert Position.objects.get(pk=first.pk).until == changed.since
    assert (changed.stance.slug, changed.previous) == ("pro-openai", "pro-tester")
