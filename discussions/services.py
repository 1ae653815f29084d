"""Every write to the debate. Keyword-only functions, each one transaction; counters move with F()."""

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from discussions.models import Reply, ReplyRevision, Stance, Thread, Topic, Vote
from discussions.permissions import can_moderate
from discussions.ranking import wilson_lower_bound

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 20_000
STANCE_LABEL_MAX_LENGTH = 120
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
# C0 control characters other than tab, newline and carriage return; PostgreSQL cannot store NUL.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean_text(field: str, value, max_length: int) -> str:
    if not isinstance(value, str):
        raise ValidationError({field: ["Must be a string."]})
    value = value.strip()
    if not value:
        raise ValidationError({field: ["This field may not be blank."]})
    if len(value) > max_length:
        raise ValidationError({field: [f"Ensure this field has no more than {max_length} characters."]})
    if _CONTROL_CHARS.search(value):
        raise ValidationError({field: ["Control characters are not allowed."]})
    return value


def _clean_optional_text(field: str, value, max_length: int) -> str:
    """Like _clean_text, but an empty value is allowed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return _clean_text(field, value, max_length)


def _stance_of_topic(topic: Topic, slug: str) -> Stance:
    """The stance with this slug among the topic's own stances (slugs repeat across topics)."""
    stances = list(Stance.objects.filter(topic=topic))
    for stance in stances:
        if stance.slug == slug:
            return stance
    choices = ", ".join(s.slug for s in stances)
    raise ValidationError({"stance": [f"'{slug}' is not a stance of topic '{topic.slug}'; choose one of: {choices}."]})


def _refuse_if_locked(topic: Topic, thread: Thread | None = None) -> None:
    if topic.is_locked:
        raise PermissionDenied("This topic is locked: it takes no new threads or replies.")
    if thread is not None and thread.is_locked:
        raise PermissionDenied("This thread is locked: it takes no new replies.")


def _insert_reply(*, actor, thread: Thread, stance: Stance, body: str, parent: Reply | None) -> Reply:
    now = timezone.now()
    reply = Reply.objects.create(
        topic_id=thread.topic_id,
        thread=thread,
        parent=parent,
        author=actor,
        stance=stance,
        body=body,
        created_at=now,
    )
    Thread.objects.filter(pk=thread.pk).update(reply_count=F("reply_count") + 1, last_activity_at=now)
    Topic.objects.filter(pk=thread.topic_id).update(reply_count=F("reply_count") + 1)
    return reply


@transaction.atomic
def topic_create(*, slug: str, title: str, question: str, description: str = "", stances: list[dict]) -> Topic:
    """Create a topic with its ordered stances (each a dict with slug, label and optional description)."""
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug) or len(slug) > 80:
        raise ValidationError({"slug": ["Use 1 to 80 letters, digits, hyphens or underscores."]})
    if len(stances) < 2:
        raise ValidationError({"stances": ["A debate needs at least two stances."]})
    cleaned = []
    for stance in stances:
        stance_slug = stance.get("slug")
        if not isinstance(stance_slug, str) or not _SLUG.fullmatch(stance_slug) or len(stance_slug) > 50:
            raise ValidationError(
                {"stances": [f"Stance slug {stance_slug!r}: use 1 to 50 letters, digits or hyphens."]}
            )
        cleaned.append(
            Stance(
                slug=stance_slug,
                label=_clean_text("stances", stance.get("label"), STANCE_LABEL_MAX_LENGTH),
                description=_clean_optional_text("stances", stance.get("description", ""), BODY_MAX_LENGTH),
                position=len(cleaned),
            )
        )
    if len({s.slug for s in cleaned}) != len(cleaned):
        raise ValidationError({"stances": ["Stance slugs must be unique within a topic."]})
    fields = {
        "title": _clean_text("title", title, TITLE_MAX_LENGTH),
        "question": _clean_text("question", question, BODY_MAX_LENGTH),
        "description": _clean_optional_text("description", description, BODY_MAX_LENGTH),
    }
    try:
        with transaction.atomic():
            topic = Topic.objects.create(slug=slug, **fields)
    except IntegrityError:  # the slug is unique in the database; a racing creator got there first
        raise ValidationError({"slug": [f"A topic with slug '{slug}' already exists."]}) from None
    for stance in cleaned:
        stance.topic = topic
    Stance.objects.bulk_create(cleaned)
    return topic


@transaction.atomic
def topic_update(*, topic: Topic, **fields) -> Topic:
    """Change a topic's title, question, description or lock; stances are edited in the admin."""
    allowed = {"title", "question", "description", "is_locked"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    if "title" in fields:
        fields["title"] = _clean_text("title", fields["title"], TITLE_MAX_LENGTH)
    if "question" in fields:
        fields["question"] = _clean_text("question", fields["question"], BODY_MAX_LENGTH)
    if "description" in fields:
        fields["description"] = _clean_optional_text("description", fields["description"], BODY_MAX_LENGTH)
    for name, value in fields.items():
        setattr(topic, name, value)
    topic.save(update_fields=[*fields, "updated_at"])
    return topic


@transaction.atomic
def thread_create(*, actor, topic_slug: str, title: str, body: str, stance_slug: str) -> Thread:
    """Open a thread and its opening reply together."""
    title = _clean_text("title", title, TITLE_MAX_LENGTH)
    body = _clean_text("body", body, BODY_MAX_LENGTH)
    topic = Topic.objects.filter(slug=topic_slug).first()
    if topic is None:
        raise ValidationError({"topic": [f"No topic with slug '{topic_slug}'."]})
    _refuse_if_locked(topic)
    stance = _stance_of_topic(topic, stance_slug)
    now = timezone.now()
    thread = Thread.objects.create(topic=topic, author=actor, title=title, created_at=now, last_activity_at=now)
    reply = _insert_reply(actor=actor, thread=thread, stance=stance, body=body, parent=None)
    thread.opening_reply = reply
    thread.save(update_fields=["opening_reply"])
    thread.reply_count = 1  # _insert_reply counted the opening reply in the database already
    Topic.objects.filter(pk=topic.pk).update(thread_count=F("thread_count") + 1)
    return thread


@transaction.atomic
def reply_create(*, actor, thread_id: int, body: str, stance_slug: str, parent_id: int | None = None) -> Reply:
    """Post a reply in a thread with one of its topic's stances, optionally answering a reply there."""
    body = _clean_text("body", body, BODY_MAX_LENGTH)
    thread = Thread.objects.select_related("topic").filter(pk=thread_id).first()
    if thread is None:
        raise ValidationError({"thread": [f"No thread with id {thread_id}."]})
    _refuse_if_locked(thread.topic, thread)
    stance = _stance_of_topic(thread.topic, stance_slug)
    parent = None
    if parent_id is not None:
        parent = Reply.objects.filter(pk=parent_id, thread=thread, state=Reply.State.VISIBLE).first()
        if parent is None:
            raise ValidationError({"parent": [f"No visible reply {parent_id} in thread {thread.pk}."]})
    return _insert_reply(actor=actor, thread=thread, stance=stance, body=body, parent=parent)


def _locked_visible_reply(reply_id: int) -> Reply:
    reply = Reply.objects.select_for_update().filter(pk=reply_id, state=Reply.State.VISIBLE).first()
    if reply is None:
        raise Http404("No such reply.")
    return reply


def _refuse_unless_author_or_moderator(actor, reply: Reply, doing: str) -> None:
    if reply.author_id != actor.pk and not can_moderate(actor):
        raise PermissionDenied(f"Only the author or a moderator may {doing} this reply.")


@transaction.atomic
def reply_update(*, actor, reply_id: int, body: str | None = None, stance_slug: str | None = None) -> Reply:
    """Edit a reply's body or stance; the earlier version is kept as a revision."""
    reply = _locked_visible_reply(reply_id)
    _refuse_unless_author_or_moderator(actor, reply, "edit")
    new_body = reply.body if body is None else _clean_text("body", body, BODY_MAX_LENGTH)
    new_stance_id = reply.stance_id
    if stance_slug is not None:
        new_stance_id = _stance_of_topic(reply.topic, stance_slug).pk
    if new_body == reply.body and new_stance_id == reply.stance_id:
        return reply
    ReplyRevision.objects.create(reply=reply, body=reply.body, stance_id=reply.stance_id, edited_by=actor)
    reply.body = new_body
    reply.stance_id = new_stance_id
    reply.save(update_fields=["body", "stance", "updated_at"])
    return reply


@transaction.atomic
def reply_withdraw(*, actor, reply_id: int) -> Reply:
    """Withdraw a reply: it leaves every list and count but stays in the database."""
    reply = _locked_visible_reply(reply_id)
    _refuse_unless_author_or_moderator(actor, reply, "withdraw")
    reply.state = Reply.State.WITHDRAWN
    reply.withdrawn_at = timezone.now()
    reply.save(update_fields=["state", "withdrawn_at", "updated_at"])
    Thread.objects.filter(pk=reply.thread_id).update(reply_count=F("reply_count") - 1)
    Topic.objects.filter(pk=reply.topic_id).update(reply_count=F("reply_count") - 1)
    return reply


def _move_tallies(reply: Reply, up: int, down: int) -> None:
    """Shift the locked reply's counters and recompute its stored ranking in the same UPDATE."""
    if not up and not down:
        return
    reply.upvotes += up
    reply.downvotes += down
    reply.score = reply.upvotes - reply.downvotes
    reply.wilson = wilson_lower_bound(reply.upvotes, reply.downvotes)
    Reply.objects.filter(pk=reply.pk).update(
        upvotes=F("upvotes") + up,
        downvotes=F("downvotes") + down,
        score=F("score") + up - down,
        wilson=reply.wilson,
    )


def _tally_delta(value: int) -> tuple[int, int]:
    return (1, 0) if value == Vote.Value.UP else (0, 1)


@transaction.atomic
def vote_cast(*, actor, reply_id: int, value: int) -> Vote:
    """Vote a visible reply up (1) or down (-1); the same vote again changes nothing, the other moves it."""
    if value not in (Vote.Value.UP, Vote.Value.DOWN) or isinstance(value, bool):
        raise ValidationError({"value": ["Must be 1 (up) or -1 (down)."]})
    # The reply's row lock serialises every vote on it, so reading the vote and moving the counters
    # cannot interleave with another writer.
    reply = _locked_visible_reply(reply_id)
    vote = Vote.objects.filter(user=actor, reply=reply).first()
    if vote is None:
        vote = Vote.objects.create(user=actor, reply=reply, value=value)
        up, down = _tally_delta(value)
    elif vote.retracted_at is not None:
        vote.value, vote.retracted_at = value, None
        vote.save(update_fields=["value", "retracted_at", "updated_at"])
        up, down = _tally_delta(value)
    elif vote.value != value:
        old_up, old_down = _tally_delta(vote.value)
        new_up, new_down = _tally_delta(value)
        vote.value = value
        vote.save(update_fields=["value", "updated_at"])
        up, down = new_up - old_up, new_down - old_down
    else:
        up = down = 0
    _move_tallies(reply, up, down)
    vote.reply = reply
    return vote


@transaction.atomic
def vote_retract(*, actor, reply_id: int) -> Reply:
    """Retract the actor's vote on a reply; the vote row is kept, marked retracted."""
    reply = _locked_visible_reply(reply_id)
    vote = Vote.objects.filter(user=actor, reply=reply, retracted_at__isnull=True).first()
    if vote is not None:
        vote.retracted_at = timezone.now()
        vote.save(update_fields=["retracted_at", "updated_at"])
        up, down = _tally_delta(vote.value)
        _move_tallies(reply, -up, -down)
    return reply
