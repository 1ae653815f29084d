"""Readers vote replies up or down; the counters on the reply follow exactly."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from discussions import services
from discussions.models import Reply, Vote
from discussions.ranking import wilson_lower_bound
from tests.support.clients import client_for
from tests.support.factories import UserFactory, make_reply
from tests.support.queries import forget_prepared, prepared_statements, statements

pytestmark = pytest.mark.django_db


def vote(client, reply, value):
    return client.post(f"/api/replies/{reply.pk}/vote/", {"value": value}, format="json")


def test_upvote_answers_the_new_tallies(reply, as_author):
    response = vote(as_author, reply, 1)

    assert response.status_code == 200
    assert response.json() == {"reply": reply.pk, "value": 1, "upvotes": 1, "downvotes": 0, "score": 1}
    reply.refresh_from_db()
    assert (reply.upvotes, reply.downvotes, reply.score) == (1, 0, 1)
    assert reply.wilson == pytest.approx(wilson_lower_bound(1, 0))


def test_voting_again_the_same_way_changes_nothing(reply, as_author):
    vote(as_author, reply, 1)
    response = vote(as_author, reply, 1)

    assert response.json()["upvotes"] == 1
    assert Vote.objects.filter(reply=reply).count() == 1


def test_voting_the_other_way_moves_the_vote(reply, as_author):
    vote(as_author, reply, 1)
    response = vote(as_author, reply, -1)

    assert response.json() == {"reply": reply.pk, "value": -1, "upvotes": 0, "downvotes": 1, "score": -1}
    assert Vote.objects.get(reply=reply).value == -1


def test_retracting_keeps_the_vote_row_but_drops_it_from_the_tallies(reply, as_author, author):
    vote(as_author, reply, -1)
    response = as_author.delete(f"/api/replies/{reply.pk}/vote/")

    assert response.status_code == 200
    assert response.json() == {"reply": reply.pk, "value": None, "upvotes": 0, "downvotes": 0, "score": 0}
    kept = Vote.objects.get(reply=reply, user=author)
    assert kept.retracted_at is not None
    reply.refresh_from_db()
    assert (reply.upvotes, reply.downvotes, reply.score, reply.wilson) == (0, 0, 0, 0.0)


def test_voting_after_a_retraction_counts_again(reply, as_author):
    vote(as_author, reply, 1)
    as_author.delete(f"/api/replies/{reply.pk}/vote/")
    response = vote(as_author, reply, -1)

    assert response.json()["downvotes"] == 1
    assert response.json()["upvotes"] == 0
    assert Vote.objects.filter(reply=reply).count() == 1


def test_retracting_without_a_vote_is_a_no_op(reply, as_author):
    response = as_author.delete(f"/api/replies/{reply.pk}/vote/")

    assert response.status_code == 200
    assert response.json()["score"] == 0
    assert not Vote.objects.exists()


def test_many_voters_add_up(reply):
    for i in range(7):
        vote(client_for(UserFactory(username=f"voter{i}")), reply, 1 if i < 5 else -1)

    reply.refresh_from_db()
    assert (reply.upvotes, reply.downvotes, reply.score) == (5, 2, 3)
    assert reply.wilson == pytest.approx(wilson_lower_bound(5, 2))


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"value": 2}, "value"),
        ({"value": 0}, "value"),
        ({"value": "up"}, "value"),
        ({"value": 1.5}, "value"),
        ({"value": True}, "value"),
        ({"value": None}, "value"),
        ({}, "value"),
    ],
)
def test_a_vote_that_is_not_1_or_minus_1_is_refused_and_writes_nothing(reply, as_author, payload, field):
    response = as_author.post(f"/api/replies/{reply.pk}/vote/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Vote.objects.exists()
    reply.refresh_from_db()
    assert (reply.upvotes, reply.downvotes) == (0, 0)


def test_anonymous_cannot_vote(reply, anon):
    assert vote(anon, reply, 1).status_code == 401
    assert anon.delete(f"/api/replies/{reply.pk}/vote/").status_code == 401
    assert not Vote.objects.exists()


def test_voting_on_an_unknown_reply_is_404(as_author):
    response = vote(as_author, Reply(pk=999_999), 1)

    assert response.status_code == 404
    assert "detail" in response.json()


def test_withdrawn_replies_take_no_votes(reply, as_author, as_other):
    as_other.delete(f"/api/replies/{reply.pk}/")

    assert vote(as_author, reply, 1).status_code == 404
    assert not Vote.objects.exists()


# A vote's counter moves (the reply's counters, its stance tallies, the day's roll-up), the vote's own row and
# its outbox row are one statement on PostgreSQL (WITH ... UPDATE ... INSERT ... ON CONFLICT ... INSERT) and
# one statement each elsewhere.
COUNTER_MOVES = 1 if connection.vendor == "postgresql" else 5


def test_vote_costs_a_fixed_number_of_queries(reply, as_author, query_budget):
    vote(as_author, reply, 1)
    # 1 token with its user and whether a suspension is in force (no query of its own);
    # 1 SELECT reply FOR NO KEY UPDATE (its counters only) with the topic's stances, the voter's side
    #   (position, else latest reply) and their vote on the reply;
    # the counter moves: UPDATE reply counters and rankings; UPDATE both stance tallies (topic and thread,
    # locked in key order, no SELECT first); upsert of the day's roll-up (the flip takes the upvote away);
    # UPDATE vote; INSERT the outbox row (discussions/services/events.py).
    with query_budget(2 + COUNTER_MOVES) as captured:
        vote(as_author, reply, -1)

    assert not [sql for sql in statements(captured) if sql.lstrip().startswith('SELECT "forum_suspension"')]


def test_a_first_vote_costs_the_same_and_hands_back_the_row_it_wrote(reply, thread, author, other, query_budget):
    earlier = make_reply(thread=thread, author=other, stance="pro-openai", body="An earlier argument.")
    services.vote_cast(actor=other, reply_id=earlier.pk, value=1)  # someone else's vote row first
    # 1 the voter's suspensions (through the API the token lookup answers that); 1 the reply locked with the
    # stances, the voter's side and vote; the counter moves, the vote's INSERT among them (its id comes back
    # from that statement) and the outbox row.
    with query_budget(2 + COUNTER_MOVES):
        cast = services.vote_cast(actor=author, reply_id=reply.pk, value=1)

    assert Vote.objects.get(user=author, reply=reply).pk == cast.pk
    assert (cast.value, cast.reply.upvotes) == (1, 1)


def test_retracting_a_vote_costs_a_fixed_number_of_queries(reply, as_author, query_budget):
    vote(as_author, reply, 1)
    # 1 token (as above); 1 the reply locked with the topic's stances and the voter's vote;
    # the counter moves (reply, both stance tallies, the day's upvotes), UPDATE vote (retracted) and the
    # outbox row.
    with query_budget(2 + COUNTER_MOVES):
        as_author.delete(f"/api/replies/{reply.pk}/vote/")


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")


@postgresql_only
def test_a_vote_sends_its_own_statements_prepared_and_logs_them_with_their_values(reply, thread, other, as_author):
    other_reply = make_reply(thread=thread, author=other, stance="pro-tester", body="A second argument.")
    forget_prepared()
    vote(as_author, reply, 1)
    with CaptureQueriesContext(connection) as captured:
        vote(as_author, other_reply, -1)
    prepared = prepared_statements()

    # The token lookup, the reply's lock with the ballot, and the counters' one statement, which writes the vote.
    ours = ('SELECT t."token_key"', "WITH r AS (SELECT id, topic_id", "WITH moved_first AS")
    for start in ours:
        assert any(sql.startswith(start) for sql in prepared), (start, prepared)
    counters = next(sql for sql in prepared if sql.startswith("WITH moved_first AS"))
    assert 'INSERT INTO "discussions_vote"' in counters and 'INSERT INTO "discussions_event"' in counters
    # Nothing else: the vote's INSERT has no statement of its own (an up- and a downvote are two shapes of it).
    assert all(sql.startswith(ours) for sql in prepared), prepared
    # The ORM's own statements are bound on the client, never prepared (a generic plan could not serve a skewed filter).
    assert not [sql for sql in prepared if '"discussions_reply"."id"' in sql]
    # The query log shows what ran, values in place, not placeholders.
    lock = next(sql for sql in statements(captured) if sql.startswith("WITH r AS"))
    assert f"WHERE id = {other_reply.pk} AND" in lock and "$1" not in lock


@postgresql_only
def test_with_prepared_statements_off_the_same_vote_prepares_nothing(reply, as_author):
    forget_prepared()
    connection.connection.prepare_threshold = None  # what DATABASE_PREPARED_STATEMENTS=0 leaves
    try:
        response = vote(as_author, reply, 1)
        assert response.status_code == 200, response.content
        assert prepared_statements() == []
    finally:
        connection.connection.prepare_threshold = 0
