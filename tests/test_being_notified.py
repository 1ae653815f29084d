"""Readers are told when someone answers, mentions or quotes them, of new replies where they watch, and of a
moderator's act on their reply: once per reply, never of their own acts, nothing from a thread they muted."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from discussions import services
from discussions.models import Event, Notification, NotificationInbox, Reply, ThreadSubscription
from discussions.services.notifications import notifications_read, subscription_set
from forum.errors import Invalid
from tests.support.clients import client_for
from tests.support.factories import UserFactory, make_reply, make_thread
from tests.support.queries import statements


@pytest.fixture
def carol(db):
    return UserFactory(username="carol")


def told(user) -> list[tuple[str, int]]:
    """(kind, reply id) of each of the user's notifications, oldest first."""
    return list(Notification.objects.filter(user=user).order_by("id").values_list("kind", "reply_id"))


def unread(user) -> int:
    return NotificationInbox.objects.filter(user=user).values_list("unread", flat=True).first() or 0


def post(actor, thread, body="A point.", parent=None, stance="pro-openai") -> Reply:
    return make_reply(thread=thread, author=actor, body=body, parent=parent, stance=stance)


def mute(user, thread):
    subscription_set(actor=user, thread_id=thread.pk, level="muted")


# --- the kinds -------------------------------------------------------------------------------


def test_answering_a_reply_tells_its_author(thread, reply, carol):
    answer = post(carol, thread, parent=reply)

    assert told(reply.author) == [("reply", answer.pk)]
    notification = Notification.objects.get(user=reply.author)
    assert (notification.actor_id, notification.topic_id, notification.thread_id) == (
        carol.pk,
        thread.topic_id,
        thread.pk,
    )
    assert notification.read_at is None


def test_a_mention_tells_the_one_mentioned(thread, reply, carol):
    mentioning = post(carol, thread, body="As @bob said earlier.")

    assert told(reply.author) == [("mention", mentioning.pk)]


def test_a_quote_tells_the_quoted_author(thread, reply, carol):
    quoting = post(carol, thread, body=f"[quote={reply.pk}]\nEarly access.\n[/quote]\n\nNo.")

    assert told(reply.author) == [("quote", quoting.pk)]


def test_the_opener_watches_the_thread_and_hears_of_every_reply(thread, author, other, carol):
    assert ThreadSubscription.objects.get(user=author, thread=thread).level == "watching"
    first, second = post(other, thread), post(carol, thread)

    assert told(author) == [("watched", first.pk), ("watched", second.pk)]
    assert unread(author) == 2


def test_each_notification_names_the_outbox_row_it_came_from(thread, reply):
    notification = Notification.objects.get(user=thread.author, reply=reply)

    event = Event.objects.get(pk=notification.event_id)
    assert (event.kind, event.reply_id) == ("reply-posted", reply.pk)


def test_an_opening_post_tells_those_it_mentions_and_quotes(topic, author, other, reply, carol):
    opened = make_thread(topic=topic, author=carol, body=f"Hello @alice.\n\n[quote={reply.pk}]\nx\n[/quote]")

    assert told(author)[-1] == ("mention", opened.opening_reply_id)
    assert told(other)[-1] == ("quote", opened.opening_reply_id)


def test_a_plain_opening_post_tells_nobody(topic, author, other):
    before = Notification.objects.count()
    make_thread(topic=topic, author=other, body="Nothing to point at.")

    assert Notification.objects.count() == before


# --- one per reader per reply, by priority ---------------------------------------------------


@pytest.mark.parametrize(
    ("mention", "quote", "answer", "expected"),
    [
        (True, True, True, "mention"),
        (False, True, True, "quote"),
        (False, False, True, "reply"),
        (False, False, False, "watched"),
    ],
)
def test_a_reader_named_many_ways_is_told_once_by_priority(thread, reply, carol, mention, quote, answer, expected):
    # bob watches too, so every source names him.
    subscription_set(actor=reply.author, thread_id=thread.pk, level="watching")
    body = ("@bob, " if mention else "") + "see.\n\n" + (f"[quote={reply.pk}]\nx\n[/quote]" if quote else "")
    posted = post(carol, thread, body=body, parent=reply if answer else None)

    assert told(reply.author) == [(expected, posted.pk)]
    assert unread(reply.author) == 1


def test_one_reply_tells_many_readers_each_once(thread, author, reply, carol):
    dave = UserFactory(username="dave")
    posted = post(carol, thread, body=f"@dave and @bob\n\n[quote={reply.pk}]\nx\n[/quote]", parent=reply)

    assert told(dave) == [("mention", posted.pk)]
    assert told(reply.author) == [("mention", posted.pk)]
    assert told(author)[-1] == ("watched", posted.pk)
    assert Notification.objects.filter(reply=posted).count() == 3


# --- never one's own acts ---------------------------------------------------------------------


def test_nobody_is_told_of_their_own_reply(thread, author, reply):
    # alice opened (and watches) the thread; she answers bob's reply's parent chain from her own post.
    mine = post(author, thread, parent=thread.opening_reply, body="@alice, note to self.")
    quoting_myself = post(author, thread, body=f"[quote={mine.pk}]\nx\n[/quote]")

    assert not Notification.objects.filter(user=author, reply__in=[mine, quoting_myself]).exists()


# --- watch levels ------------------------------------------------------------------------------


def test_without_a_choice_a_reader_hears_only_what_names_them(thread, reply, carol):
    # bob has no subscription row: a plain reply in the thread is not for him; an answer to him is.
    plain = post(carol, thread)
    answer = post(carol, thread, parent=reply)

    assert ThreadSubscription.objects.filter(user=reply.author, thread=thread).count() == 0
    assert told(reply.author) == [("reply", answer.pk)]
    assert plain.pk not in [r for _, r in told(reply.author)]


def test_the_opener_choosing_normal_stops_watched_but_not_answers(thread, author, other):
    subscription_set(actor=author, thread_id=thread.pk, level="normal")
    post(other, thread)
    answer = post(other, thread, parent=thread.opening_reply)

    assert told(author) == [("reply", answer.pk)]


def test_anyone_may_watch_a_thread(thread, reply, carol):
    subscription_set(actor=reply.author, thread_id=thread.pk, level="watching")
    plain = post(carol, thread)

    assert told(reply.author) == [("watched", plain.pk)]


def test_a_muted_thread_tells_nothing_even_an_answer_mention_or_quote(thread, author, reply, carol):
    mute(reply.author, thread)
    mute(author, thread)
    post(carol, thread, body=f"@bob @alice\n\n[quote={reply.pk}]\nx\n[/quote]", parent=reply)
    post(carol, thread, parent=thread.opening_reply)

    assert told(reply.author) == []
    assert told(author) == [("watched", reply.pk)]  # from before she muted
    assert unread(reply.author) == 0


def test_muting_one_thread_leaves_the_others(topic, thread, author, other, rival_topic):
    # The rival topic reuses the stance slugs; its thread is a different thread with its own watchers.
    elsewhere = make_thread(topic=rival_topic, author=author, title="Elsewhere", stance="pro-tester")
    mute(author, thread)
    here = post(other, thread)
    there = post(other, elsewhere, stance="pro-openai")

    assert here.pk not in [r for _, r in told(author)]
    assert told(author)[-1] == ("watched", there.pk)
    assert Notification.objects.get(reply=there).topic_id == rival_topic.pk


def test_a_reply_in_one_thread_does_not_reach_another_threads_watchers(thread, author, other, carol, rival_topic):
    carols_thread = make_thread(topic=rival_topic, author=carol, stance="pro-openai")
    posted = post(other, carols_thread, stance="pro-tester")

    assert told(carol) == [("watched", posted.pk)]
    assert told(author) == []  # she watches her own thread only


# --- moderation ----------------------------------------------------------------------------------


def test_a_moderator_hiding_restoring_or_moving_a_reply_tells_its_author_unnamed(reply, moderator):
    services.reply_hide(actor=moderator, reply_id=reply.pk, reason="Rude")
    services.reply_restore(actor=moderator, reply_id=reply.pk)
    services.reply_stance_change(actor=moderator, reply_id=reply.pk, stance_slug="pro-tester", reason="Misfiled")

    notifications = Notification.objects.filter(user=reply.author).order_by("id")
    assert [(n.kind, n.reply_id, n.actor_id) for n in notifications] == [("moderation", reply.pk, None)] * 3
    events = Event.objects.filter(pk__in=[n.event_id for n in notifications]).order_by("id")
    assert [e.kind for e in events] == ["reply-hidden", "reply-restored", "stance-changed"]
    assert unread(reply.author) == 3


def test_a_moderator_editing_or_withdrawing_a_reply_tells_its_author(reply, moderator):
    services.reply_update(actor=moderator, reply_id=reply.pk, body="Cleaned up.", reason="Slur removed")
    services.reply_withdraw(actor=moderator, reply_id=reply.pk)

    assert told(reply.author) == [("moderation", reply.pk)] * 2


def test_a_flag_resolved_tells_the_author_of_the_hidden_reply(reply, author, moderator):
    flag = services.flag_create(actor=author, reply_id=reply.pk, reason="spam")
    services.flag_resolve(actor=moderator, flag_id=flag.pk)

    assert told(reply.author) == [("moderation", reply.pk)]


def test_moderation_notices_arrive_even_in_a_muted_thread(thread, reply, moderator):
    mute(reply.author, thread)
    services.reply_hide(actor=moderator, reply_id=reply.pk, reason="Rude")

    assert told(reply.author) == [("moderation", reply.pk)]


def test_a_moderator_acting_on_their_own_reply_is_not_told(thread, moderator):
    own = post(moderator, thread)
    services.reply_hide(actor=moderator, reply_id=own.pk, reason="Posted in the wrong thread")

    assert told(moderator) == []


def test_an_author_editing_or_withdrawing_their_own_reply_tells_nobody(reply):
    before = Notification.objects.count()
    services.reply_update(actor=reply.author, reply_id=reply.pk, body="Second thoughts.")
    services.reply_withdraw(actor=reply.author, reply_id=reply.pk)

    assert Notification.objects.count() == before


# --- all or nothing ----------------------------------------------------------------------------


def test_a_refused_reply_tells_nobody(thread, reply, carol):
    before = Notification.objects.count()
    with pytest.raises(Invalid):
        services.reply_create(
            actor=carol, thread_id=thread.pk, body="@bob", stance_slug="no-such-stance", parent_id=reply.pk
        )

    assert Notification.objects.count() == before
    assert unread(reply.author) == 0


def test_a_reply_whose_answer_fails_takes_its_notifications_back(thread, reply, carol):
    def fail(posted):
        raise RuntimeError("answer failed")

    with pytest.raises(RuntimeError):
        services.reply_create(
            actor=carol, thread_id=thread.pk, body="@bob", stance_slug="pro-openai", parent_id=reply.pk, on_written=fail
        )

    assert told(reply.author) == []
    assert unread(reply.author) == 0


def test_the_inbox_counts_every_notification_and_every_unread_one(thread, author, other, carol):
    for _ in range(3):
        post(other, thread)
    first = Notification.objects.filter(user=author).order_by("id").first()
    notifications_read(actor=author, ids=[first.pk])

    inbox = NotificationInbox.objects.get(user=author)
    assert (inbox.unread, inbox.total) == (2, 3)
    assert inbox.unread == Notification.objects.filter(user=author, read_at__isnull=True).count()


# --- a thousand watchers -------------------------------------------------------------------------


def watchers_of(thread, n: int) -> list:
    """n new users watching the thread (rows made directly: a subscription moves no counter)."""
    User = get_user_model()
    User.objects.bulk_create([User(username=f"watcher{thread.pk}-{i}") for i in range(n)])
    users = list(User.objects.filter(username__startswith=f"watcher{thread.pk}-"))
    ThreadSubscription.objects.bulk_create([ThreadSubscription(user=u, thread=thread, level="watching") for u in users])
    return users


# As tests/test_posting.py counts them: the counter moves after the participations, with the outbox row, are one
# statement on PostgreSQL, five elsewhere; the notified inboxes' upsert is inside the notifications' INSERT on
# PostgreSQL.
COUNTER_MOVES = 1 if connection.vendor == "postgresql" else 5
NOTIFY_INBOXES = 0 if connection.vendor == "postgresql" else 1


@pytest.mark.parametrize("watching", [1, 1000])
def test_a_thousand_watchers_cost_the_statements_one_does(topic, author, other, query_budget, watching):
    thread = make_thread(topic=topic, author=author)
    watchers = watchers_of(thread, watching)
    post(other, thread)  # bob's counter rows in the thread exist from here on
    as_bob = client_for(other)
    body = {"thread": thread.pk, "body": "Again, to every watcher.", "stance": "pro-openai"}
    # 1 token with its user; 1 the topic's stances with the thread's lock; 1 INSERT reply; 1 its search entry;
    # 1 UPDATE bob's participations; the counter moves with the outbox row;
    # 1 INSERT ... SELECT of the notifications (the candidates by priority, one per reader), with, on
    # PostgreSQL, the upsert of their inboxes in user order; on SQLite that upsert is one more statement;
    # the answer reads nothing. Nothing here grows with the watchers.
    with query_budget(6 + COUNTER_MOVES + NOTIFY_INBOXES):
        response = as_bob.post("/api/replies/", body, format="json")

    assert response.status_code == 201, response.content
    assert Notification.objects.filter(reply_id=response.json()["id"], kind="watched").count() == watching + 1
    assert NotificationInbox.objects.filter(user__in=watchers, unread=2, total=2).count() == watching


def test_replying_costs_a_fixed_number_of_statements_for_the_notifications(thread, reply, carol, query_budget):
    # A mention, a quote and an answer to bob, in alice's watched thread: of the reply's statements, the
    # notifications' own are 1 INSERT ... SELECT (on SQLite then 1 upsert of the inboxes).
    body = f"@bob\n\n[quote={reply.pk}]\nx\n[/quote]"
    with query_budget(100) as captured:
        post(carol, thread, body=body, parent=reply)

    theirs = [sql for sql in statements(captured) if "discussions_notification" in sql]
    assert len(theirs) == (1 if connection.vendor == "postgresql" else 2), theirs
    assert sorted(Notification.objects.filter(reply__body=body).values_list("kind", flat=True)) == [
        "mention",
        "watched",
    ]
