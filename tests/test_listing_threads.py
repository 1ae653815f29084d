"""Listing threads: ThreadSerializer builds its JSON by hand for speed, and it must be, key for key and in the
same order, what DRF's walk over the declared fields gives, for an opening post shown or hidden."""

from rest_framework import serializers

from discussions import selectors, services
from discussions.serializers import ThreadSerializer
from tests.support.factories import make_reply, make_thread


def declared(thread) -> dict:
    return serializers.ModelSerializer.to_representation(ThreadSerializer(), thread)


def test_each_thread_reads_as_its_declared_fields_give(topic, rival_topic, thread, author, other, moderator):
    hidden = make_thread(topic=topic, author=other, stance="pro-openai", title="Hidden opener", body="*x*")
    services.reply_hide(actor=moderator, reply_id=hidden.opening_reply_id, reason="spam")
    make_reply(thread=thread, author=other)
    services.thread_pin(actor=moderator, thread_id=thread.pk, pinned=True, reason="main thread")

    threads = list(selectors.thread_list())
    assert len(threads) == 2

    for listed in threads:
        assert list(ThreadSerializer(listed).data.items()) == list(declared(listed).items())
    shown = {t["id"]: t for t in ThreadSerializer(threads, many=True).data}
    assert shown[hidden.pk]["body"] is shown[hidden.pk]["body_html"] is shown[hidden.pk]["stance"] is None
    assert shown[thread.pk]["is_pinned"] is True and shown[thread.pk]["reply_count"] == 2
