"""Row lookups and refusals the write services share; plain functions, run inside the caller's transaction."""

from discussions.models import Reply, Stance, Thread, Topic
from forum.errors import Invalid, NotAllowed, NotFound
from forum.permissions import can_moderate


def stance_of_topic(topic: Topic, slug: str, field: str = "stance") -> tuple[Stance, list[Stance]]:
    """The stance with this slug among the topic's own stances (slugs repeat across topics), and all of them."""
    stances = list(Stance.objects.filter(topic=topic).order_by("position", "id"))
    for stance in stances:
        if stance.slug == slug:
            return stance, stances
    choices = ", ".join(s.slug for s in stances)
    raise Invalid.on(field, f"'{slug}' is not a stance of topic '{topic.slug}'; choose one of: {choices}.")


def refuse_if_locked(topic: Topic, thread: Thread | None = None) -> None:
    if topic.is_locked:
        raise NotAllowed("This topic is locked: it takes no new threads or replies.")
    if thread is not None and thread.is_locked:
        raise NotAllowed("This thread is locked: it takes no new replies.")


def locked_visible_reply(reply_id: int) -> Reply:
    """The reply's row, locked: every write to a reply and its counters queues on it."""
    reply = Reply.objects.select_for_update().filter(pk=reply_id, state=Reply.State.VISIBLE).first()
    if reply is None:
        raise NotFound("No such reply.")
    return reply


def refuse_unless_author_or_moderator(actor, reply: Reply, doing: str) -> None:
    if reply.author_id != actor.pk and not can_moderate(actor):
        raise NotAllowed(f"Only the author or a moderator may {doing} this reply.")
