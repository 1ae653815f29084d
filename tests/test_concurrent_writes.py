"""Many clients writing at once (votes, flips, replies, hides): every counter ends exact, on real connections."""

import contextlib
import functools
import random
import threading
import time

import pytest
from django.db import connection, connections

from discussions import services
from discussions.models import Reply, Vote
from discussions.ranking import wilson_lower_bound
from forum.errors import Conflict, NotFound
from tests.support.factories import ModeratorFactory, TopicFactory, UserFactory, make_reply, make_thread
from tests.support.threads import run_in_threads

N_THREADS = 8
ROUNDS = 12


def _expected_from_rows(reply):
    active = Vote.objects.filter(reply=reply, retracted_at__isnull=True)
    return active.filter(value=1).count(), active.filter(value=-1).count()


@pytest.mark.django_db(transaction=True)
def test_concurrent_cast_flip_and_retract_leave_exact_tallies():
    # Each thread is one voter doing a random walk of cast / flip / retract on the same reply, so the
    # reply's row is contended from every side; on SQLite the same burst must not fail as "locked".
    topic_author, replier = UserFactory(username="opener"), UserFactory(username="replier")

    topic = TopicFactory(slug="race")
    thread = make_thread(topic=topic, author=topic_author)
    reply = make_reply(thread=thread, author=replier)
    voters = [UserFactory(username=f"racer{i}") for i in range(N_THREADS)]

    def walk(voter, seed):
        rng = random.Random(seed)
        for _ in range(ROUNDS):
            action = rng.choice(["up", "down", "retract"])
            if action == "retract":
                services.vote_retract(actor=voter, reply_id=reply.pk)
            else:
                services.vote_cast(actor=voter, reply_id=reply.pk, value=1 if action == "up" else -1)

    run_in_threads(walk, [(voter, i) for i, voter in enumerate(voters)])

    reply.refresh_from_db()
    up, down = _expected_from_rows(reply)
    assert (reply.upvotes, reply.downvotes, reply.score) == (up, down, up - down)
    assert reply.wilson == pytest.approx(wilson_lower_bound(up, down))
    assert Vote.objects.filter(reply=reply).count() <= N_THREADS


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_votes_by_many_users_all_count():

    topic = TopicFactory(slug="race")
    thread = make_thread(topic=topic, author=UserFactory(username="opener"))
    reply = thread.opening_reply
    voters = [UserFactory(username=f"fan{i}") for i in range(N_THREADS * 2)]

    run_in_threads(lambda voter: services.vote_cast(actor=voter, reply_id=reply.pk, value=1), [(v,) for v in voters])

    reply.refresh_from_db()
    assert (reply.upvotes, reply.downvotes, reply.score) == (len(voters), 0, len(voters))


@pytest.mark.django_db(transaction=True)
def test_one_user_flipping_from_many_threads_holds_one_vote():

    topic = TopicFactory(slug="race")
    thread = make_thread(topic=topic, author=UserFactory(username="opener"))
    reply = Reply.objects.get(pk=thread.opening_reply_id)
    voter = UserFactory(username="flipper")

    run_in_threads(
        lambda value: services.vote_cast(actor=voter, reply_id=reply.pk, value=value),
        [(1 if i % 2 else -1,) for i in range(N_THREADS)],
    )

    reply.refresh_from_db()
    assert Vote.objects.filter(reply=reply).count() == 1
    assert reply.upvotes + reply.downvotes == 1
    assert (reply.upvotes, reply.downvotes) == _expected_from_rows(reply)


@pytest.mark.django_db(transaction=True)
def test_many_replies_into_one_thread_count_exactly():

    topic = TopicFactory(slug="race")
    thread = make_thread(topic=topic, author=UserFactory(username="opener"))
    posters = [UserFactory(username=f"poster{i}") for i in range(N_THREADS)]

    def post(user):
        for n in range(5):
            services.reply_create(actor=user, thread_id=thread.pk, body=f"point {n}", stance_slug="pro-openai")

    run_in_threads(post, [(u,) for u in posters])

    thread.refresh_from_db()
    topic.refresh_from_db()
    assert thread.reply_count == 1 + 5 * N_THREADS == Reply.objects.filter(thread=thread).count()
    assert topic.reply_count == thread.reply_count


@pytest.mark.django_db(transaction=True)
def test_hides_and_restores_racing_with_votes_leave_every_tally_exact():
    from discussions.audit import tallies_audit

    topic = TopicFactory(slug="race")
    thread = make_thread(topic=topic, author=UserFactory(username="opener"))
    reply = make_reply(thread=thread, author=UserFactory(username="replier"))
    voters = [UserFactory(username=f"crowd{i}") for i in range(N_THREADS - 1)]
    moderator = ModeratorFactory(username="racemod")

    def vote_walk(voter, seed):
        rng = random.Random(seed)
        for _ in range(ROUNDS):
            try:
                if rng.random() < 0.2:
                    services.vote_retract(actor=voter, reply_id=reply.pk)
                else:
                    services.vote_cast(actor=voter, reply_id=reply.pk, value=rng.choice([1, -1]))
            except NotFound:  # the reply is hidden at this moment: votes wait for its restore
                pass

    def moderate():
        for _ in range(ROUNDS // 2):
            services.reply_hide(actor=moderator, reply_id=reply.pk, reason="race")
            services.reply_restore(actor=moderator, reply_id=reply.pk)

    def act(voter, seed):
        moderate() if voter is None else vote_walk(voter, seed)

    run_in_threads(act, [(None, None), *[(voter, i) for i, voter in enumerate(voters)]])

    reply.refresh_from_db()
    assert reply.state == Reply.State.VISIBLE
    assert (reply.upvotes, reply.downvotes) == _expected_from_rows(reply)
    assert tallies_audit() == []


@pytest.mark.django_db(transaction=True)
def test_position_changes_racing_both_ways_leave_exact_tallies():
    # Half the users walk A→B→A…, half B→A→B…, at once: each change moves both stances' tally rows (and
    # their day rows, and the topic's shift count) in one go, which must neither deadlock nor drift.
    from discussions.audit import tallies_audit

    topic = TopicFactory(slug="race")
    users = [UserFactory(username=f"mover{i}") for i in range(N_THREADS)]
    stances = ("pro-tester", "pro-openai")

    def walk(user, start):
        for n in range(ROUNDS):
            services.position_set(actor=user, topic_slug=topic.slug, stance_slug=stances[(start + n) % 2])

    run_in_threads(walk, [(user, i % 2) for i, user in enumerate(users)])

    topic.refresh_from_db()
    assert topic.shift_count == N_THREADS * (ROUNDS - 1)
    assert tallies_audit() == []


@pytest.mark.django_db(transaction=True)
def test_first_replies_racing_to_make_their_counter_rows_all_count():
    # Nobody has replied with this stance nor in these threads yet: every poster's first reply finds its
    # participation and tally rows missing, and several make the same ones at once.
    from discussions.audit import tallies_audit

    topic = TopicFactory(slug="race")
    opener = UserFactory(username="opener")
    threads = [make_thread(topic=topic, author=opener, title=f"Thread {i}") for i in range(2)]
    posters = [UserFactory(username=f"newcomer{i}") for i in range(N_THREADS)]

    def post(user, thread):
        for n in range(3):
            services.reply_create(actor=user, thread_id=thread.pk, body=f"point {n}", stance_slug="pro-openai")

    run_in_threads(post, [(user, threads[i % 2]) for i, user in enumerate(posters)])

    topic.refresh_from_db()
    assert (topic.reply_count, topic.participant_count) == (2 + 3 * N_THREADS, 1 + N_THREADS)
    assert tallies_audit() == []


@pytest.mark.django_db(transaction=True)
def test_votes_replies_and_position_changes_together_leave_every_tally_exact():
    # Every kind of counter move at once on one topic: their locks are taken in one order, so none waits
    # for another in a circle, and every counter ends as the rows say.
    from discussions.audit import tallies_audit

    topic = TopicFactory(slug="race")
    thread = make_thread(topic=topic, author=UserFactory(username="opener"))
    targets = [make_reply(thread=thread, author=UserFactory(username=f"target{i}")) for i in range(3)]
    people = [UserFactory(username=f"busy{i}") for i in range(N_THREADS)]

    def act(user, seed):
        rng = random.Random(seed)
        for n in range(ROUNDS):
            kind = rng.choice(["vote", "reply", "position"])
            if kind == "vote":
                reply = rng.choice(targets)
                services.vote_cast(actor=user, reply_id=reply.pk, value=rng.choice([1, -1]))
            elif kind == "reply":
                stance = rng.choice(["pro-tester", "pro-openai"])
                services.reply_create(actor=user, thread_id=thread.pk, body=f"busy {n}", stance_slug=stance)
            else:
                stance = rng.choice(["pro-tester", "pro-openai"])
                services.position_set(actor=user, topic_slug=topic.slug, stance_slug=stance)

    run_in_threads(act, [(user, i) for i, user in enumerate(people)])

    assert tallies_audit() == []


@pytest.mark.django_db(transaction=True)
def test_replies_reads_and_hides_racing_leave_every_inbox_exact():
    # Posters in two topics tell the same watchers (so their inbox upserts cross), mentioning and answering
    # them, while those watchers mark theirs read and a moderator hides and restores their replies.
    from discussions.models import Notification, NotificationInbox, ThreadSubscription
    from discussions.services.notifications import notifications_read, subscription_set

    threads = [
        make_thread(topic=TopicFactory(slug=f"race-{n}"), author=UserFactory(username=f"opener{n}")) for n in range(2)
    ]
    watchers = [UserFactory(username=f"watcher{i}") for i in range(N_THREADS // 2)]
    posters = [UserFactory(username=f"poster{i}") for i in range(N_THREADS // 2)]
    moderator = ModeratorFactory(username="racemod")
    # Answered replies and hidden ones are apart: answering a reply while it is hidden is refused (400),
    # which would end a poster's walk. (A hide racing an answer is tested below.)
    targets, hidden = [], []
    for watcher in watchers:
        for thread in threads:
            subscription_set(actor=watcher, thread_id=thread.pk, level="watching")
            targets.append(make_reply(thread=thread, author=watcher, body="Answer me."))
            hidden.append(make_reply(thread=thread, author=watcher, body="Hide me."))
    assert ThreadSubscription.objects.filter(level="watching").count() == 2 + 2 * len(watchers)
    for poster in posters:  # their counter rows exist before the race: this test is about the inboxes
        for thread in threads:
            make_reply(thread=thread, author=poster, body="Warming up.")

    def post(user, seed):
        rng = random.Random(seed)
        for n in range(ROUNDS):
            target = rng.choice(targets)
            named = rng.choice(watchers)
            services.reply_create(
                actor=user,
                thread_id=target.thread_id,
                body=f"@{named.username}, point {n}",
                stance_slug="pro-openai",
                parent_id=target.pk if rng.random() < 0.5 else None,
            )
            if rng.random() < 0.2:
                with contextlib.suppress(Conflict):  # another poster's turn of the moderator hid it first
                    reply_id = rng.choice(hidden).pk
                    services.reply_hide(actor=moderator, reply_id=reply_id, reason="Race")
                    services.reply_restore(actor=moderator, reply_id=reply_id)

    def read(user, seed):
        rng = random.Random(seed)
        for _ in range(ROUNDS):
            if rng.random() < 0.3:
                notifications_read(actor=user, everything=True)
            else:
                mine = list(Notification.objects.filter(user=user).values_list("id", flat=True))
                notifications_read(actor=user, ids=rng.sample(mine, min(len(mine), 3)))

    jobs = [(post, user, i) for i, user in enumerate(posters)] + [(read, user, i) for i, user in enumerate(watchers)]
    run_in_threads(lambda job, user, seed: job(user, seed), jobs)

    for user_id, unread, total in NotificationInbox.objects.values_list("user_id", "unread", "total"):
        mine = Notification.objects.filter(user_id=user_id)
        assert (unread, total) == (mine.filter(read_at__isnull=True).count(), mine.count()), user_id
    assert Notification.objects.filter(kind="moderation").exists()
    assert Notification.objects.values("user_id").distinct().count() == NotificationInbox.objects.count()


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _racing(first, racer) -> None:
    """Run `first(on_written=…)` and, once it has written and holds its locks, start `racer`; let `first` commit
    once the racer waits on a lock. Both must land without an error."""
    holding, released, errors = threading.Event(), threading.Event(), []

    def hold(_written):
        holding.set()
        assert released.wait(10)

    def run(target, **kwargs):
        try:
            target(**kwargs)
        except Exception as error:  # both are awaited below; their errors are what the test reports
            errors.append(f"{type(error).__name__}: {error}")
        finally:
            connections.close_all()

    first = threading.Thread(target=run, args=(first,), kwargs={"on_written": hold})
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=run, args=(racer,))
    second.start()
    deadline = time.monotonic() + 10
    while _lock_waiters() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    waited = _lock_waiters()
    released.set()
    first.join(20)
    second.join(20)
    assert waited == 1 and errors == [], (waited, errors)


def _reply_committing_under(racer, **reply) -> None:
    """Post a reply and, with its counter rows locked, start `racer`; commit once the racer waits on them.

    At its commit a new row's foreign keys take a key-share lock on each row they name: the reply's parent,
    a notified reader's user row. A racer holding one of those rows more strongly while it waits on the
    reply's counters would deadlock with it."""
    _racing(functools.partial(services.reply_create, **reply), racer)


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite has one writer at a time"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("act", ["vote", "hide"])
def test_a_vote_or_a_hide_on_a_reply_being_answered_waits_for_the_answer_and_both_land(act):
    from discussions.audit import tallies_audit

    thread = make_thread(topic=TopicFactory(slug="race"), author=UserFactory(username="opener"))
    parent = make_reply(thread=thread, author=UserFactory(username="answered"), stance="pro-openai")
    if act == "vote":
        voter = UserFactory(username="voter")
        racer = functools.partial(services.vote_cast, actor=voter, reply_id=parent.pk, value=1)
    else:
        moderator = ModeratorFactory(username="racemod")
        racer = functools.partial(services.reply_hide, actor=moderator, reply_id=parent.pk, reason="Off topic")

    _reply_committing_under(
        racer,
        actor=UserFactory(username="answerer"),
        thread_id=thread.pk,
        body="An answer.",
        stance_slug="pro-openai",
        parent_id=parent.pk,
    )

    parent.refresh_from_db()
    landed = (1, Reply.State.VISIBLE) if act == "vote" else (0, Reply.State.HIDDEN)
    assert ((parent.upvotes, parent.state), Reply.objects.filter(parent=parent).count()) == (landed, 1)
    assert tallies_audit() == []


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_watcher_changing_sides_while_a_reply_notifies_them_both_land():
    from discussions.audit import tallies_audit
    from discussions.models import Notification

    watcher = UserFactory(username="watcher")  # opened the thread, so watching it
    thread = make_thread(topic=TopicFactory(slug="race"), author=watcher, stance="pro-openai")

    _reply_committing_under(
        lambda: services.position_set(actor=watcher, topic_slug="race", stance_slug="pro-openai"),
        actor=UserFactory(username="replier"),
        thread_id=thread.pk,
        body="Telling the watcher.",
        stance_slug="pro-openai",
    )

    assert Notification.objects.filter(user=watcher).count() == 1
    assert watcher.positions.filter(until=None).get().stance.slug == "pro-openai"
    assert tallies_audit() == []


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second", [1, -1])
def test_a_second_vote_waiting_on_the_first_sees_it(second):
    # The ballot is read in the statement that locks the reply, from a snapshot taken before the lock's wait:
    # without a second read the waiting vote would miss the first, and insert a duplicate or count it twice.
    thread = make_thread(topic=TopicFactory(slug="race"), author=UserFactory(username="opener"))
    reply = make_reply(thread=thread, author=UserFactory(username="argued"), stance="pro-openai")
    voter = UserFactory(username="double-clicker")

    cast = functools.partial(services.vote_cast, actor=voter, reply_id=reply.pk)
    _racing(functools.partial(cast, value=1), functools.partial(cast, value=second))

    reply.refresh_from_db()
    assert list(Vote.objects.filter(reply=reply).values_list("value", flat=True)) == [second]
    assert (reply.upvotes, reply.downvotes) == ((1, 0) if second == 1 else (0, 1))
