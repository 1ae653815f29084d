"""Each vote remembers the voter's side; replies show votes by side, bridging and controversy."""

import pytest

from discussions import services
from discussions.models import Reply, Vote
from discussions.ranking import controversy, wilson_lower_bound
from tests.support.clients import client_for
from tests.support.factories import TopicFactory, UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db

ZERO = {"up": 0, "down": 0}


def declare(user, stance, topic_slug="sora-leak"):
    services.position_set(actor=user, topic_slug=topic_slug, stance_slug=stance)


def vote(client, reply, value):
    response = client.post(f"/api/replies/{reply.pk}/vote/", {"value": value}, format="json")
    assert response.status_code == 200, response.content
    return response


def cast(user, reply, value):
    services.vote_cast(actor=user, reply_id=reply.pk, value=value)


def by_stance(anon, reply):
    response = anon.get(f"/api/replies/{reply.pk}/")
    assert response.status_code == 200
    return response.json()["votes_by_stance"]


def recorded(user, reply):
    stance = Vote.objects.get(user=user, reply=reply).voter_stance
    return stance.slug if stance else None


@pytest.fixture
def target(thread, author):
    return make_reply(thread=thread, author=author, stance="pro-tester", body="The reply everyone votes on.")


@pytest.fixture
def voters(topic, rival_topic, thread):
    """One voter of each kind, named by where their stance comes from."""
    users = {name: UserFactory(username=name) for name in ("declared", "replier", "fallback", "elsewhere", "nobody")}
    # Declared pro-openai while their reply argues pro-tester: the declaration wins.
    make_reply(thread=thread, author=users["declared"], stance="pro-tester")
    declare(users["declared"], "pro-openai")
    # No declaration: the latest of their replies in the topic decides.
    make_reply(thread=thread, author=users["replier"], stance="pro-openai")
    make_reply(thread=make_thread(topic=topic, author=users["replier"]), author=users["replier"], stance="pro-tester")
    # Their latest reply is withdrawn, so the one before it decides.
    make_reply(thread=thread, author=users["fallback"], stance="pro-openai")
    latest = make_reply(thread=thread, author=users["fallback"], stance="pro-tester")
    services.reply_withdraw(actor=users["fallback"], reply_id=latest.pk)
    # A side on the rival topic only (same slugs): no side here.
    rival_thread = make_thread(topic=rival_topic, author=users["elsewhere"], stance="pro-openai")
    make_reply(thread=rival_thread, author=users["elsewhere"], stance="pro-openai")
    declare(users["elsewhere"], "pro-tester", topic_slug="rival-debate")
    return users


def test_each_vote_records_the_voters_stance(voters, target):
    for user in voters.values():
        cast(user, target, 1)

    assert {name: recorded(user, target) for name, user in voters.items()} == {
        "declared": "pro-openai",
        "replier": "pro-tester",
        "fallback": "pro-openai",
        "elsewhere": None,
        "nobody": None,
    }


def test_votes_by_stance_counts_only_voters_with_a_side(voters, target, anon):
    cast(voters["declared"], target, 1)
    cast(voters["replier"], target, -1)
    cast(voters["fallback"], target, 1)
    cast(voters["elsewhere"], target, 1)
    cast(voters["nobody"], target, -1)

    body = anon.get(f"/api/replies/{target.pk}/").json()

    assert body["votes_by_stance"] == {"pro-tester": {"up": 0, "down": 1}, "pro-openai": {"up": 2, "down": 0}}
    # Votes without a side still count in the reply's own tallies.
    assert (body["upvotes"], body["downvotes"]) == (3, 2)


def test_a_flip_moves_the_vote_and_a_retraction_removes_it(voters, target, anon):
    client = client_for(voters["declared"])
    vote(client, target, 1)
    assert by_stance(anon, target) == {"pro-tester": ZERO, "pro-openai": {"up": 1, "down": 0}}

    vote(client, target, -1)
    assert by_stance(anon, target) == {"pro-tester": ZERO, "pro-openai": {"up": 0, "down": 1}}

    assert client.delete(f"/api/replies/{target.pk}/vote/").status_code == 200
    assert by_stance(anon, target) == {"pro-tester": ZERO, "pro-openai": ZERO}


def test_a_later_change_of_side_does_not_rewrite_earlier_votes(voters, target, anon):
    user = voters["declared"]
    cast(user, target, 1)
    declare(user, "pro-tester")
    cast(user, target, 1)  # the same vote again changes nothing, its side included

    assert recorded(user, target) == "pro-openai"
    assert by_stance(anon, target) == {"pro-tester": ZERO, "pro-openai": {"up": 1, "down": 0}}


def test_a_recast_vote_records_the_side_held_now(voters, target, anon):
    user = voters["declared"]
    cast(user, target, 1)
    declare(user, "pro-tester")
    cast(user, target, -1)  # the flip is cast now, from the new side

    assert recorded(user, target) == "pro-tester"
    assert by_stance(anon, target) == {"pro-tester": {"up": 0, "down": 1}, "pro-openai": ZERO}


def test_a_vote_after_a_retraction_records_the_side_held_now(voters, target, anon):
    user = voters["replier"]
    cast(user, target, 1)
    services.vote_retract(actor=user, reply_id=target.pk)
    declare(user, "pro-openai")
    cast(user, target, 1)

    assert by_stance(anon, target) == {"pro-tester": ZERO, "pro-openai": {"up": 1, "down": 0}}


def side_voters(topic_slug, stance, n, prefix):
    users = [UserFactory(username=f"{prefix}{i}") for i in range(n)]
    for user in users:
        declare(user, stance, topic_slug)
    return users


@pytest.fixture
def sides(topic, rival_topic):
    """Five declared voters per side on both topics (the same users, the same slugs)."""
    testers = side_voters("sora-leak", "pro-tester", 5, "t")
    openais = side_voters("sora-leak", "pro-openai", 5, "o")
    for user in testers:
        declare(user, "pro-tester", "rival-debate")
    for user in openais:
        declare(user, "pro-openai", "rival-debate")
    return {"pro-tester": testers, "pro-openai": openais}


def rate(reply, voters, ups, downs):
    """The first `ups` voters vote up, the next `downs` down."""
    for user in voters[:ups]:
        cast(user, reply, 1)
    for user in voters[ups : ups + downs]:
        cast(user, reply, -1)


def test_bridging_is_zero_while_a_side_has_fewer_than_three_votes(sides, target, anon):
    rate(target, sides["pro-tester"], 5, 0)
    rate(target, sides["pro-openai"], 2, 0)
    assert anon.get(f"/api/replies/{target.pk}/").json()["bridging"] == 0

    cast(sides["pro-openai"][2], target, -1)  # the third vote from that side, even a down one, lifts the floor

    target.refresh_from_db()
    assert target.bridging == pytest.approx(wilson_lower_bound(2, 1))
    assert target.bridging > 0


def test_bridging_is_the_lowest_wilson_bound_over_the_sides(sides, target, anon):
    rate(target, sides["pro-tester"], 3, 0)
    rate(target, sides["pro-openai"], 4, 1)

    expected = min(wilson_lower_bound(3, 0), wilson_lower_bound(4, 1))
    # By hand, z = 1.96, z^2 = 3.8416: pro-openai 4/5 gives
    # (0.8 + 0.38416 - 1.96 * sqrt((0.16 + 0.19208) / 5)) / (1 + 0.76832) = 0.66406 / 1.76832 = 0.37553,
    # below pro-tester's 3/3: 1 / (1 + 1.28053) = 0.43849.
    assert expected == pytest.approx(0.37553, abs=1e-5)
    target.refresh_from_db()
    assert target.bridging == pytest.approx(expected)
    body = anon.get(f"/api/replies/{target.pk}/").json()
    assert body["bridging"] == pytest.approx(0.37553, abs=1e-5)
    assert body["votes_by_stance"] == {"pro-tester": {"up": 3, "down": 0}, "pro-openai": {"up": 4, "down": 1}}


def test_bridging_falls_back_to_zero_when_a_side_retracts_below_three(sides, target):
    rate(target, sides["pro-tester"], 3, 0)
    rate(target, sides["pro-openai"], 3, 0)
    services.vote_retract(actor=sides["pro-tester"][0], reply_id=target.pk)

    target.refresh_from_db()
    assert target.bridging == 0


def test_bridging_needs_every_stance_of_the_topic_not_just_two(db):
    """With a third side nobody votes from, two sides agreeing is not common ground."""
    TopicFactory(slug="three-way", stances=(("a", "A"), ("b", "B"), ("c", "C")))
    opener = UserFactory(username="opener")
    reply = services.thread_create(
        actor=opener, topic_slug="three-way", title="t", body="b", stance_slug="a"
    ).opening_reply
    rate(reply, side_voters("three-way", "a", 3, "a"), 3, 0)
    rate(reply, side_voters("three-way", "b", 3, "b"), 3, 0)

    reply.refresh_from_db()
    assert reply.bridging == 0
    rate(reply, side_voters("three-way", "c", 3, "c"), 3, 0)
    reply.refresh_from_db()
    assert reply.bridging == pytest.approx(wilson_lower_bound(3, 0))


@pytest.fixture
def ground(sides, topic, rival_topic, thread, author):
    """Replies of known bridging scores on this topic, and a bridging one on the rival topic."""
    g1 = make_reply(thread=thread, author=author, body="g1")
    g2 = make_reply(thread=thread, author=author, body="g2")
    one_sided = make_reply(thread=thread, author=author, body="one-sided")
    gone = make_reply(thread=thread, author=author, body="gone")
    rival = make_thread(topic=rival_topic, author=author).opening_reply
    for reply in (g1, gone, rival):
        rate(reply, sides["pro-tester"], 3, 0)
        rate(reply, sides["pro-openai"], 3, 0)
    rate(g2, sides["pro-tester"], 3, 0)
    rate(g2, sides["pro-openai"], 4, 1)
    rate(one_sided, sides["pro-tester"], 5, 0)
    services.reply_withdraw(actor=author, reply_id=gone.pk)
    return {"g1": g1, "g2": g2, "one_sided": one_sided, "gone": gone, "rival": rival}


def test_common_ground_lists_bridging_replies_best_first(ground, anon):
    response = anon.get("/api/topics/sora-leak/common-ground/")

    assert response.status_code == 200
    body = response.json()
    # g1 (0.43849) before g2 (0.37553) although g2 is newer; one-sided, withdrawn and rival replies are out.
    assert [r["body"] for r in body["results"]] == ["g1", "g2"]
    assert [r["bridging"] for r in body["results"]] == [
        pytest.approx(wilson_lower_bound(3, 0)),
        pytest.approx(wilson_lower_bound(4, 1)),
    ]
    assert body["next"] is None


def test_common_ground_is_paginated(ground, anon):
    first = anon.get("/api/topics/sora-leak/common-ground/?page_size=1").json()
    second = anon.get(first["next"]).json()

    assert [r["body"] for r in first["results"]] == ["g1"]
    assert [r["body"] for r in second["results"]] == ["g2"]
    assert second["next"] is None


def test_common_ground_of_the_rival_topic_is_its_own(ground, anon):
    body = anon.get("/api/topics/rival-debate/common-ground/").json()

    assert [r["id"] for r in body["results"]] == [ground["rival"].pk]


def test_common_ground_of_an_unknown_topic_is_404(anon):
    assert anon.get("/api/topics/no-such-topic/common-ground/").status_code == 404


def test_controversial_orders_by_many_votes_evenly_split(thread, author, anon):
    voters = [UserFactory(username=f"c{i}") for i in range(4)]
    # Created b, a, c: neither the id nor the time order is the controversial one.
    b = make_reply(thread=thread, author=author, body="b")  # 1 up 2 down: 3^(1/2) = 1.7321
    a = make_reply(thread=thread, author=author, body="a")  # 2 up 2 down: 4^1 = 4
    c = make_reply(thread=thread, author=author, body="c")  # 3 up 0 down: one side empty, 0
    rate(b, voters, 1, 2)
    rate(a, voters, 2, 2)
    rate(c, voters, 3, 0)

    response = anon.get(f"/api/replies/?thread={thread.pk}&ordering=controversial")

    assert response.status_code == 200
    results = response.json()["results"]
    # The zeros tie; the newer one (c) comes before the opening post.
    assert [r["id"] for r in results] == [a.pk, b.pk, c.pk, thread.opening_reply_id]
    assert [r["controversy"] for r in results] == [4.0, pytest.approx(3**0.5), 0.0, 0.0]
    stored = dict(Reply.objects.filter(pk__in=[a.pk, b.pk, c.pk]).values_list("body", "controversy"))
    assert stored == {"a": 4.0, "b": pytest.approx(controversy(1, 2)), "c": 0.0}
