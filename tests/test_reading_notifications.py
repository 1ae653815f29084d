"""A reader lists their notifications, counts the unread ones and marks them read: only ever their own."""

import pytest

from discussions.models import Event, Notification, NotificationInbox
from discussions.models.notifications import READ_IDS_MAX
from tests.support.clients import client_for
from tests.support.factories import UserFactory, make_reply

NOTIFICATIONS = "/api/notifications/"
UNREAD_COUNT = "/api/notifications/unread-count/"
READ = "/api/notifications/read/"


@pytest.fixture
def carol(db):
    return UserFactory(username="carol")


@pytest.fixture
def answers(thread, reply, carol):
    """Three answers by carol to bob's reply, oldest first: bob has three `reply` notifications."""
    return [make_reply(thread=thread, author=carol, parent=reply, body=f"Answer {n}.") for n in range(3)]


def ids(response) -> list[int]:
    return [n["id"] for n in response.json()["results"]]


def bobs(**filters) -> list[int]:
    """bob's notification ids, newest first."""
    return list(
        Notification.objects.filter(user__username="bob", **filters).order_by("-id").values_list("id", flat=True)
    )


def inbox(user) -> tuple[int, int]:
    return NotificationInbox.objects.filter(user=user).values_list("unread", "total").first() or (0, 0)


# --- listing ---------------------------------------------------------------------------------------


def test_a_reader_lists_their_notifications_newest_first(as_other, thread, answers, carol):
    response = as_other.get(NOTIFICATIONS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    newest = body["results"][0]
    assert newest == {
        "id": newest["id"],
        "kind": "reply",
        "actor": "carol",
        "topic": "sora-leak",
        "thread": thread.pk,
        "reply": answers[-1].pk,
        "created_at": newest["created_at"],
        "read": False,
        "read_at": None,
    }
    assert [n["reply"] for n in body["results"]] == [a.pk for a in reversed(answers)]


def test_a_moderation_notice_names_no_actor(as_other, reply, moderator):
    from discussions import services

    services.reply_hide(actor=moderator, reply_id=reply.pk, reason="Rude")

    (notice,) = as_other.get(NOTIFICATIONS).json()["results"]
    assert (notice["kind"], notice["actor"], notice["reply"]) == ("moderation", None, reply.pk)


def test_unread_true_lists_only_the_unread_with_their_count(as_other, answers):
    first = bobs()[-1]
    as_other.post(READ, {"ids": [first]}, format="json")

    response = as_other.get(NOTIFICATIONS, {"unread": "true"})
    assert response.status_code == 200
    assert ids(response) == bobs()[:2]
    assert response.json()["count"] == 2
    everything = as_other.get(NOTIFICATIONS, {"unread": "false"}).json()
    assert (everything["count"], [n["read"] for n in everything["results"]]) == (3, [False, False, True])


@pytest.mark.parametrize("junk", ["maybe", "2", "truee"])
def test_a_junk_unread_filter_is_a_400_naming_it(as_other, db, junk):
    response = as_other.get(NOTIFICATIONS, {"unread": junk})

    assert response.status_code == 400
    assert "unread" in response.json()


def test_a_reader_sees_only_their_own(as_author, thread, answers, carol):
    # alice watches the thread: she has `watched` notifications of the same replies, and only those.
    results = as_author.get(NOTIFICATIONS).json()["results"]

    assert {n["kind"] for n in results} == {"watched"}
    assert set(ids(as_author.get(NOTIFICATIONS))).isdisjoint(bobs())
    assert as_author.get(NOTIFICATIONS).json()["count"] == Notification.objects.filter(user__username="alice").count()


def test_someone_never_notified_has_an_empty_list_and_zero_counts(db, carol):
    as_carol = client_for(carol)

    assert as_carol.get(NOTIFICATIONS).json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert as_carol.get(UNREAD_COUNT).json() == {"count": 0}
    assert as_carol.post(READ, {"all": True}, format="json").json() == {"count": 0}


def test_the_list_pages_by_cursor(as_other, thread, reply, carol):
    for n in range(5):
        make_reply(thread=thread, author=carol, parent=reply, body=f"Answer {n}.")

    first = as_other.get(NOTIFICATIONS, {"page_size": 2}).json()
    second = as_other.get(first["next"]).json()
    third = as_other.get(second["next"]).json()

    seen = [n["id"] for page in (first, second, third) for n in page["results"]]
    assert seen == bobs()
    assert "cursor=" in first["next"] and third["next"] is None


# --- the unread count -----------------------------------------------------------------------------


def test_the_unread_count_comes_from_the_counter(as_other, answers):
    assert as_other.get(UNREAD_COUNT).json() == {"count": 3}
    # The counter is what is read: moved behind the service's back, the answer follows it, not a COUNT.
    NotificationInbox.objects.filter(user__username="bob").update(unread=7)

    assert as_other.get(UNREAD_COUNT).json() == {"count": 7}


# --- marking read --------------------------------------------------------------------------------


def test_marking_some_read_answers_the_unread_left(as_other, answers):
    newest, middle, _ = bobs()
    response = as_other.post(READ, {"ids": [newest, middle]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"count": 1}
    assert bobs(read_at__isnull=True) == [bobs()[-1]]
    assert inbox(answers[0].parent.author) == (1, 3)


def test_marking_all_read(as_other, answers):
    response = as_other.post(READ, {"all": True}, format="json")

    assert response.json() == {"count": 0}
    assert bobs(read_at__isnull=True) == []
    assert as_other.get(UNREAD_COUNT).json() == {"count": 0}


def test_marking_read_twice_moves_the_counter_once(as_other, answers):
    one = bobs()[0]
    as_other.post(READ, {"ids": [one, one]}, format="json")
    as_other.post(READ, {"ids": [one]}, format="json")
    as_other.post(READ, {"all": True}, format="json")
    as_other.post(READ, {"all": True}, format="json")

    assert inbox(answers[0].parent.author) == (0, 3)


def test_other_readers_ids_are_ignored_never_marked(as_other, as_author, answers):
    alices = list(Notification.objects.filter(user__username="alice").values_list("id", flat=True))
    response = as_other.post(READ, {"ids": [*alices, bobs()[0]]}, format="json")

    assert response.json() == {"count": 2}
    assert Notification.objects.filter(pk__in=alices, read_at__isnull=True).count() == len(alices)
    assert as_author.get(UNREAD_COUNT).json() == {"count": len(alices)}


def test_marking_read_tells_the_readers_live_streams(as_other, other, answers):
    as_other.post(READ, {"all": True}, format="json")

    event = Event.objects.filter(kind="notifications-read").get()
    assert (event.user_id, event.actor_id, event.topic_id) == (other.pk, other.pk, None)


def test_marking_nothing_new_writes_no_event(as_other, answers):
    as_other.post(READ, {"all": True}, format="json")
    as_other.post(READ, {"all": True}, format="json")
    as_other.post(READ, {"ids": [bobs()[0]]}, format="json")

    assert Event.objects.filter(kind="notifications-read").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ids"),
        ({"ids": [1], "all": True}, "all"),
        ({"all": False}, "all"),
        ({"all": "yes please"}, "all"),
        ({"ids": ["one"]}, "ids"),
        ({"ids": [1.5]}, "ids"),
        ({"ids": [True]}, "ids"),
        ({"ids": [0]}, "ids"),
        ({"ids": 3}, "ids"),
        ({"ids": None}, "ids"),
        ({"ids": list(range(1, READ_IDS_MAX + 2))}, "ids"),
    ],
)
def test_a_bad_read_body_is_a_400_naming_the_field(as_other, answers, body, field):
    response = as_other.post(READ, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert bobs(read_at__isnull=True) == bobs()  # nothing marked


def test_the_most_ids_at_once_are_accepted(as_other, answers):
    response = as_other.post(READ, {"ids": [*bobs(), *range(10**6, 10**6 + READ_IDS_MAX - 3)]}, format="json")

    assert response.json() == {"count": 0}


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("get", NOTIFICATIONS), ("get", UNREAD_COUNT), ("post", READ)], ids=["list", "count", "read"]
)
def test_every_notification_endpoint_needs_a_token(anon, db, method, path):
    response = getattr(anon, method)(path, {"all": True} if method == "post" else None, format="json")

    assert response.status_code == 401
    assert "detail" in response.json()


# --- query budgets -------------------------------------------------------------------------------


@pytest.mark.parametrize("unread", ["true", "false"])
def test_listing_costs_a_fixed_number_of_queries(as_other, thread, reply, carol, query_budget, unread):
    for n in range(8):
        make_reply(thread=thread, author=carol, parent=reply, body=f"Answer {n}.")
    # 1 token with its user; 1 the inbox's counters (the page's `count`); 1 the page joined to actor and topic.
    with query_budget(3):
        response = as_other.get(NOTIFICATIONS, {"unread": unread, "page_size": 5})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 5


def test_the_unread_count_is_one_read(as_other, answers, query_budget):
    # 1 token with its user; 1 the inbox row by primary key.
    with query_budget(2):
        response = as_other.get(UNREAD_COUNT)

    assert response.json() == {"count": 3}


@pytest.mark.parametrize("body", [{"all": True}, "ids"])
def test_marking_read_costs_a_fixed_number_of_queries(as_other, answers, query_budget, body):
    body = {"ids": bobs()} if body == "ids" else body
    # 1 token with its user; 1 UPDATE the notifications (their rows locked in id order by its subquery);
    # 1 UPDATE the inbox, returning the unread left; 1 INSERT the outbox row.
    with query_budget(4):
        response = as_other.post(READ, body, format="json")

    assert response.json() == {"count": 0}
