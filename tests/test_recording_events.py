"""Every write readers can see leaves one outbox row in its own transaction; old rows are pruned."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from discussions import services
from discussions.models import Event, Reply
from discussions.services.events import events_prune
from forum.errors import Invalid
from tests.support.factories import make_reply


def kinds(**filters) -> list[str]:
    return list(Event.objects.filter(**filters).order_by("id").values_list("kind", flat=True))


def test_posting_a_reply_records_it_with_its_topic_thread_and_author(thread, other):
    reply = services.reply_create(actor=other, thread_id=thread.pk, body="A point.", stance_slug="pro-openai")

    event = Event.objects.get(reply_id=reply.pk)
    assert (event.kind, event.topic_id, event.thread_id, event.actor_id) == (
        "reply-posted",
        thread.topic_id,
        thread.pk,
        other.pk,
    )


def test_opening_a_thread_records_its_opening_post(topic, author):
    thread = services.thread_create(actor=author, topic_slug=topic.slug, title="T", body="B", stance_slug="pro-tester")

    assert kinds(thread_id=thread.pk) == ["reply-posted"]
    assert Event.objects.get(thread_id=thread.pk).reply_id == thread.opening_reply_id


def test_a_refused_write_records_nothing(thread, other):
    before = Event.objects.count()
    with pytest.raises(Invalid):
        services.reply_create(actor=other, thread_id=thread.pk, body="x", stance_slug="no-such-stance")

    assert Event.objects.count() == before


def test_a_reply_refused_after_its_insert_leaves_no_event(thread, other):
    # The answer callback runs inside the transaction, after the outbox row: its failure takes the row back.
    def fail(reply):
        raise RuntimeError("answer failed")

    before = Event.objects.count()
    with pytest.raises(RuntimeError):
        services.reply_create(
            actor=other, thread_id=thread.pk, body="A point.", stance_slug="pro-openai", on_written=fail
        )

    assert Event.objects.count() == before
    assert not Reply.objects.filter(body="A point.").exists()


def test_votes_record_cast_moved_and_retracted_and_nothing_for_a_repeat(reply, author):
    services.vote_cast(actor=author, reply_id=reply.pk, value=1)
    services.vote_cast(actor=author, reply_id=reply.pk, value=1)  # the same vote again changes nothing
    services.vote_cast(actor=author, reply_id=reply.pk, value=-1)
    services.vote_retract(actor=author, reply_id=reply.pk)
    services.vote_retract(actor=author, reply_id=reply.pk)  # nothing left to retract

    assert kinds(reply_id=reply.pk, kind__startswith="vote") == ["vote-cast", "vote-moved", "vote-retracted"]
    assert set(Event.objects.filter(kind__startswith="vote").values_list("topic_id", "actor_id")) == {
        (reply.topic_id, author.pk)
    }


def test_editing_withdrawing_and_moderating_a_reply_each_record_one_event(reply, other, moderator):
    services.reply_update(actor=other, reply_id=reply.pk, body="Edited.")
    services.reply_stance_change(actor=moderator, reply_id=reply.pk, stance_slug="pro-tester")
    services.reply_hide(actor=moderator, reply_id=reply.pk, reason="Off topic")
    services.reply_restore(actor=moderator, reply_id=reply.pk)
    services.reply_withdraw(actor=other, reply_id=reply.pk)

    assert kinds(reply_id=reply.pk) == [
        "reply-posted",
        "reply-edited",
        "stance-changed",
        "reply-hidden",
        "reply-restored",
        "reply-withdrawn",
    ]


def test_positions_threads_and_topics_record_their_changes(topic, thread, author, moderator):
    services.position_set(actor=author, topic_slug=topic.slug, stance_slug="pro-openai")
    services.position_set(actor=author, topic_slug=topic.slug, stance_slug="pro-openai")  # unchanged: nothing
    services.thread_lock(actor=moderator, thread_id=thread.pk, locked=True)
    services.thread_pin(actor=moderator, thread_id=thread.pk, pinned=True)
    services.topic_lock(actor=moderator, topic_id=topic.pk, locked=True)

    assert kinds(topic_id=topic.pk, reply_id=None) == [
        "position-changed",
        "thread-locked",
        "thread-pinned",
        "topic-changed",
    ]


def test_pruning_keeps_the_window_and_always_the_newest_row(thread, other):
    for n in range(3):
        make_reply(thread=thread, author=other, body=f"Reply {n}.")
    ids = list(Event.objects.order_by("id").values_list("id", flat=True))
    old = timezone.now() - datetime.timedelta(days=30)
    Event.objects.filter(id__in=ids[:-1]).update(created_at=old)
    Event.objects.filter(id=ids[-1]).update(created_at=old)

    deleted = events_prune(before=timezone.now() - datetime.timedelta(days=7), batch=2)

    assert deleted == len(ids) - 1
    assert list(Event.objects.values_list("id", flat=True)) == [ids[-1]]


def test_the_prune_command_keeps_what_is_inside_the_window(thread, other, capsys):
    make_reply(thread=thread, author=other)
    make_reply(thread=thread, author=other)
    first = Event.objects.order_by("id").first()
    Event.objects.filter(pk=first.pk).update(created_at=timezone.now() - datetime.timedelta(days=8))
    kept = Event.objects.count() - 1

    call_command("prune_events")

    assert Event.objects.count() == kept
    assert not Event.objects.filter(pk=first.pk).exists()
    assert "pruned 1 events older than 7 days" in capsys.readouterr().out
