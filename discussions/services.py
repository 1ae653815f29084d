"""Every write to the debate. Keyword-only functions, each one transaction; counters move under row locks."""

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from discussions import bookkeeping
from discussions.models import Position, Reply, ReplyRevision, Stance, Thread, Topic, Vote
from discussions.permissions import can_moderate
from discussions.summary_cache import summary_invalidate

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 20_000
STANCE_LABEL_MAX_LENGTH = 120
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
# C0 control characters other than tab, newline and carriage return; PostgreSQL cannot store NUL.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(field: str, value, max_length: int) -> str:
    """Stripped text, refused (naming the field) when blank, too long or holding control characters."""
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


def clean_optional_text(field: str, value, max_length: int) -> str:
    """Like clean_text, but an empty value is allowed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return clean_text(field, value, max_length)


def _stance_of_topic(topic: Topic, slug: str, field: str = "stance") -> tuple[Stance, list[Stance]]:
    """The stance with this slug among the topic's own stances (slugs repeat across topics), and all of them."""
    stances = list(Stance.objects.filter(topic=topic).order_by("position", "id"))
    for stance in stances:
        if stance.slug == slug:
            return stance, stances
    choices = ", ".join(s.slug for s in stances)
    raise ValidationError({field: [f"'{slug}' is not a stance of topic '{topic.slug}'; choose one of: {choices}."]})


def _refuse_if_locked(topic: Topic, thread: Thread | None = None) -> None:
    if topic.is_locked:
        raise PermissionDenied("This topic is locked: it takes no new threads or replies.")
    if thread is not None and thread.is_locked:
        raise PermissionDenied("This thread is locked: it takes no new replies.")


def _insert_reply(*, actor, thread: Thread, stance: Stance, stances: list[Stance], body: str, parent) -> Reply:
    reply = Reply.objects.create(
        topic_id=thread.topic_id,
        thread=thread,
        parent=parent,
        author=actor,
        stance=stance,
        body=body,
        votes_by_stance={s.slug: {"up": 0, "down": 0} for s in stances},
    )
    bookkeeping.reply_counted(reply, 1, is_new=True, now=reply.created_at)
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
                label=clean_text("stances", stance.get("label"), STANCE_LABEL_MAX_LENGTH),
                description=clean_optional_text("stances", stance.get("description", ""), BODY_MAX_LENGTH),
                position=len(cleaned),
            )
        )
    if len({s.slug for s in cleaned}) != len(cleaned):
        raise ValidationError({"stances": ["Stance slugs must be unique within a topic."]})
    fields = {
        "title": clean_text("title", title, TITLE_MAX_LENGTH),
        "question": clean_text("question", question, BODY_MAX_LENGTH),
        "description": clean_optional_text("description", description, BODY_MAX_LENGTH),
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
def topic_update(*, actor, topic: Topic, **fields) -> Topic:
    """Change a topic's title, question or description; a change of lock goes through topic_lock (moderators,
    logged). Stances are edited in the admin."""
    allowed = {"title", "question", "description", "is_locked"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    is_locked = fields.pop("is_locked", None)
    if is_locked is not None:  # first, so a refusal comes before anything is written
        topic.is_locked = topic_lock(actor=actor, topic_id=topic.pk, is_locked=is_locked)[0].is_locked
    if "title" in fields:
        fields["title"] = clean_text("title", fields["title"], TITLE_MAX_LENGTH)
    if "question" in fields:
        fields["question"] = clean_text("question", fields["question"], BODY_MAX_LENGTH)
    if "description" in fields:
        fields["description"] = clean_optional_text("description", fields["description"], BODY_MAX_LENGTH)
    for name, value in fields.items():
        setattr(topic, name, value)
    if fields:
        topic.save(update_fields=[*fields, "updated_at"])
    summary_invalidate(topic.pk)
    return topic


@transaction.atomic
def thread_create(*, actor, topic_slug: str, title: str, body: str, stance_slug: str) -> Thread:
    """Open a thread and its opening reply together."""
    title = clean_text("title", title, TITLE_MAX_LENGTH)
    body = clean_text("body", body, BODY_MAX_LENGTH)
    topic = Topic.objects.filter(slug=topic_slug).first()
    if topic is None:
        raise ValidationError({"topic": [f"No topic with slug '{topic_slug}'."]})
    _refuse_if_locked(topic)
    stance, stances = _stance_of_topic(topic, stance_slug)
    now = timezone.now()
    thread = Thread.objects.create(topic=topic, author=actor, title=title, created_at=now, last_activity_at=now)
    reply = _insert_reply(actor=actor, thread=thread, stance=stance, stances=stances, body=body, parent=None)
    thread.opening_reply = reply
    thread.save(update_fields=["opening_reply"])
    Topic.objects.filter(pk=topic.pk).update(thread_count=F("thread_count") + 1)
    thread.reply_count = thread.participant_count = 1  # counted in the database by _insert_reply
    return thread


@transaction.atomic
def reply_create(*, actor, thread_id: int, body: str, stance_slug: str, parent_id: int | None = None) -> Reply:
    """Post a reply in a thread with one of its topic's stances, optionally answering a reply there."""
    body = clean_text("body", body, BODY_MAX_LENGTH)
    thread = Thread.objects.select_related("topic").filter(pk=thread_id).first()
    if thread is None:
        raise ValidationError({"thread": [f"No thread with id {thread_id}."]})
    _refuse_if_locked(thread.topic, thread)
    stance, stances = _stance_of_topic(thread.topic, stance_slug)
    parent = None
    if parent_id is not None:
        parent = Reply.objects.filter(pk=parent_id, thread=thread, state=Reply.State.VISIBLE).first()
        if parent is None:
            raise ValidationError({"parent": [f"No visible reply {parent_id} in thread {thread.pk}."]})
    return _insert_reply(actor=actor, thread=thread, stance=stance, stances=stances, body=body, parent=parent)


def _locked_visible_reply(reply_id: int) -> Reply:
    reply = Reply.objects.select_for_update().filter(pk=reply_id, state=Reply.State.VISIBLE).first()
    if reply is None:
        raise Http404("No such reply.")
    return reply


def _refuse_unless_moderator(actor) -> None:
    if not can_moderate(actor):
        raise PermissionDenied("Only moderators may do this.")


def _refuse_unless_author_or_moderator(actor, reply: Reply, doing: str) -> None:
    if reply.author_id != actor.pk and not can_moderate(actor):
        raise PermissionDenied(f"Only the author or a moderator may {doing} this reply.")


# A moderator acting on someone else's reply, and any lock or unlock of a topic, is a moderation act that
# forum's moderation log records: forum registers its recorder here at start-up (discussions cannot import forum).
_moderation_recorders: list = []


def moderation_recorder_register(recorder) -> None:
    """Have `recorder(actor=, action=, target=, target_type=, reason=, before=, after=)` called for every such act."""
    if recorder not in _moderation_recorders:
        _moderation_recorders.append(recorder)


def _moderation_record(**entry) -> None:
    for recorder in _moderation_recorders:
        recorder(**entry)


@transaction.atomic
def reply_update(
    *, actor, reply_id: int, body: str | None = None, stance_slug: str | None = None, reason: str = ""
) -> Reply:
    """Edit a reply's body or stance; the earlier version is kept as a revision."""
    reply = _locked_visible_reply(reply_id)
    _refuse_unless_author_or_moderator(actor, reply, "edit")
    new_body = reply.body if body is None else clean_text("body", body, BODY_MAX_LENGTH)
    old_stance = new_stance = reply.stance
    if stance_slug is not None:
        new_stance = _stance_of_topic(reply.topic, stance_slug)[0]
    if new_body == reply.body and new_stance.pk == old_stance.pk:
        return reply
    ReplyRevision.objects.create(reply=reply, body=reply.body, stance_id=reply.stance_id, edited_by=actor)
    if new_stance.pk != old_stance.pk:
        bookkeeping.stance_changed(reply, old_stance_id=old_stance.pk, new_stance_id=new_stance.pk)
    old_body = reply.body
    reply.body = new_body
    reply.stance = new_stance
    reply.save(update_fields=["body", "stance", "updated_at"])
    summary_invalidate(reply.topic_id)  # its text may be among the best replies shown
    if actor.pk != reply.author_id:
        before, after = {}, {}
        if new_stance.pk != old_stance.pk:
            before["stance"], after["stance"] = old_stance.slug, new_stance.slug
        if new_body != old_body:
            before["body"], after["body"] = old_body, new_body
        action = "change-stance" if "stance" in before else "edit-reply"
        _moderation_record(
            actor=actor, action=action, target=reply, target_type="reply", reason=reason, before=before, after=after
        )
    return reply


@transaction.atomic
def reply_withdraw(*, actor, reply_id: int) -> Reply:
    """Withdraw a reply: it leaves every list and count but stays in the database."""
    reply = _locked_visible_reply(reply_id)
    _refuse_unless_author_or_moderator(actor, reply, "withdraw")
    reply.state = Reply.State.WITHDRAWN
    reply.withdrawn_at = timezone.now()
    reply.save(update_fields=["state", "withdrawn_at", "updated_at"])
    bookkeeping.reply_counted(reply, -1, now=reply.withdrawn_at)
    if actor.pk != reply.author_id:
        _moderation_record(
            actor=actor,
            action="withdraw-reply",
            target=reply,
            target_type="reply",
            reason="",
            before={"state": Reply.State.VISIBLE},
            after={"state": Reply.State.WITHDRAWN},
        )
    return reply


def _tally_delta(value: int | None) -> tuple[int, int]:
    if value is None:
        return 0, 0
    return (1, 0) if value == Vote.Value.UP else (0, 1)


def _voters_side(*, user, topic_id: int):
    """The voter's side as a subquery: their declared position, else their latest visible reply's stance."""
    position = Position.objects.filter(user=user, topic_id=topic_id, until=None).values("stance_id")[:1]
    latest = (
        Reply.objects.filter(author=user, topic_id=topic_id, state=Reply.State.VISIBLE)
        .order_by("-created_at", "-id")
        .values("stance_id")[:1]
    )
    return Coalesce(Subquery(position), Subquery(latest))


def _stances_and_side(*, user, topic_id: int) -> tuple[list[str], Stance | None]:
    """The topic's stance slugs (for the rankings) and the voter's side (as voter_stance), in one query."""
    stances = list(Stance.objects.filter(topic_id=topic_id).annotate(side=_voters_side(user=user, topic_id=topic_id)))
    return [s.slug for s in stances], next((s for s in stances if s.pk == s.side), None)


def _topic_slugs(topic_id: int) -> list[str]:
    return list(Stance.objects.filter(topic_id=topic_id).values_list("slug", flat=True))


def _vote_moved(reply: Reply, vote: Vote, old: tuple, now, slugs: list[str]) -> None:
    """Apply a vote's change from `old` (value, stance slug, cast day) to its current state; `slugs` are
    the topic's stances."""
    old_value, old_stance, old_day = old
    new_value = None if vote.retracted_at else vote.value
    new_stance = vote.voter_stance.slug if new_value is not None and vote.voter_stance_id else None
    (old_up, old_down), (new_up, new_down) = _tally_delta(old_value), _tally_delta(new_value)
    up, down = new_up - old_up, new_down - old_down

    by_stance = reply.votes_by_stance
    if old_stance is not None and old_value is not None:
        entry = by_stance.setdefault(old_stance, {"up": 0, "down": 0})
        entry["up"], entry["down"] = entry["up"] - old_up, entry["down"] - old_down
    if new_stance is not None:
        entry = by_stance.setdefault(new_stance, {"up": 0, "down": 0})
        entry["up"], entry["down"] = entry["up"] + new_up, entry["down"] + new_down

    reply.upvotes += up
    reply.downvotes += down
    bookkeeping.reply_rerank(reply, slugs)
    reply.save(update_fields=["upvotes", "downvotes", "score", "wilson", "controversy", "bridging", "votes_by_stance"])
    bookkeeping.votes_moved(reply, up=up, down=down, now=now)
    if old_up:
        bookkeeping.daily_add(topic_id=reply.topic_id, stance_id=reply.stance_id, day=old_day, upvotes=-1)
    if new_up:
        bookkeeping.daily_add(
            topic_id=reply.topic_id, stance_id=reply.stance_id, day=bookkeeping.utc_day(vote.cast_at), upvotes=1
        )


def _vote_state(vote: Vote | None) -> tuple:
    if vote is None or vote.retracted_at is not None:
        return None, None, None
    stance = vote.voter_stance.slug if vote.voter_stance_id else None
    return vote.value, stance, bookkeeping.utc_day(vote.cast_at)


@transaction.atomic
def vote_cast(*, actor, reply_id: int, value: int) -> Vote:
    """Vote a visible reply up (1) or down (-1); the same vote again changes nothing, the other moves it."""
    if value not in (Vote.Value.UP, Vote.Value.DOWN) or isinstance(value, bool):
        raise ValidationError({"value": ["Must be 1 (up) or -1 (down)."]})
    # The reply's row lock serialises every vote on it, so reading the vote and moving the counters
    # cannot interleave with another writer.
    reply = _locked_visible_reply(reply_id)
    vote = Vote.objects.select_related("voter_stance").filter(user=actor, reply=reply).first()
    old = _vote_state(vote)
    if old[0] == value:
        vote.reply = reply
        return vote
    now = timezone.now()
    slugs, stance = _stances_and_side(user=actor, topic_id=reply.topic_id)
    if vote is None:
        vote = Vote.objects.create(user=actor, reply=reply, value=value, voter_stance=stance, cast_at=now)
    else:
        vote.value, vote.voter_stance, vote.cast_at, vote.retracted_at = value, stance, now, None
        vote.save(update_fields=["value", "voter_stance", "cast_at", "retracted_at", "updated_at"])
    _vote_moved(reply, vote, old, now, slugs)
    vote.reply = reply
    return vote


@transaction.atomic
def vote_retract(*, actor, reply_id: int) -> Reply:
    """Retract the actor's vote on a reply; the vote row is kept, marked retracted."""
    reply = _locked_visible_reply(reply_id)
    vote = Vote.objects.select_related("voter_stance").filter(user=actor, reply=reply, retracted_at=None).first()
    if vote is not None:
        old = _vote_state(vote)
        vote.retracted_at = timezone.now()
        vote.save(update_fields=["retracted_at", "updated_at"])
        _vote_moved(reply, vote, old, vote.retracted_at, _topic_slugs(reply.topic_id))
    return reply


@transaction.atomic
def position_set(*, actor, topic_slug: str, stance_slug: str, persuaded_by_id: int | None = None) -> Position:
    """Declare or change the actor's side on a topic; every earlier position stays as history."""
    topic = Topic.objects.filter(slug=topic_slug).first()
    if topic is None:
        raise Http404("No such topic.")
    stance, _ = _stance_of_topic(topic, stance_slug)
    persuaded_by = None
    if persuaded_by_id is not None:
        persuaded_by = Reply.objects.filter(pk=persuaded_by_id, topic=topic, state=Reply.State.VISIBLE).first()
        if persuaded_by is None:
            raise ValidationError({"persuaded_by": [f"No visible reply {persuaded_by_id} in topic '{topic.slug}'."]})
    # Serialise one user's declarations on every topic: two first declarations racing would both find
    # no current position and insert two.
    get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
    current = Position.objects.select_for_update().filter(user=actor, topic=topic, until=None).first()
    if current is not None and current.stance_id == stance.pk:
        return current
    now = timezone.now()
    if persuaded_by is not None:
        # Before the tallies, keeping the lock order of the votes (reply row first).
        Reply.objects.filter(pk=persuaded_by.pk).update(persuaded_count=F("persuaded_count") + 1)
    moves = {stance.pk: 1}
    if current is not None:
        current.until = now
        current.save(update_fields=["until"])
        moves[current.stance_id] = -1
    position = Position.objects.create(user=actor, topic=topic, stance=stance, persuaded_by=persuaded_by, since=now)
    bookkeeping.positions_moved(topic_id=topic.pk, moves=moves, now=now)
    if current is not None:
        Topic.objects.filter(pk=topic.pk).update(shift_count=F("shift_count") + 1)
    return position


@transaction.atomic
def reply_hide(*, actor, reply_id: int, reason: str) -> Reply:
    """Hide a visible reply (moderators): it leaves every list and count until restored."""
    _refuse_unless_moderator(actor)
    reason = clean_text("reason", reason, BODY_MAX_LENGTH)
    reply = _locked_visible_reply(reply_id)
    reply.state, reply.hidden_at, reply.hidden_reason = Reply.State.HIDDEN, timezone.now(), reason
    reply.save(update_fields=["state", "hidden_at", "hidden_reason", "updated_at"])
    bookkeeping.reply_counted(reply, -1, now=reply.hidden_at)
    return reply


@transaction.atomic
def reply_restore(*, actor, reply_id: int) -> Reply:
    """Bring a hidden reply back, with its votes, into every list and count."""
    _refuse_unless_moderator(actor)
    reply = Reply.objects.select_for_update().filter(pk=reply_id, state=Reply.State.HIDDEN).first()
    if reply is None:
        raise Http404("No hidden reply with that id.")
    reply.state, reply.hidden_at, reply.hidden_reason = Reply.State.VISIBLE, None, ""
    reply.save(update_fields=["state", "hidden_at", "hidden_reason", "updated_at"])
    bookkeeping.reply_counted(reply, 1)
    return reply


@transaction.atomic
def thread_moderate(
    *, actor, thread_id: int, is_locked: bool | None = None, is_pinned: bool | None = None
) -> tuple[Thread, list[str]]:
    """Lock or unlock, pin or unpin a thread (moderators); returns it and the fields that changed."""
    _refuse_unless_moderator(actor)
    thread = Thread.objects.select_for_update().filter(pk=thread_id).first()
    if thread is None:
        raise Http404("No such thread.")
    changed = []
    for field, value in (("is_locked", is_locked), ("is_pinned", is_pinned)):
        if value is not None and getattr(thread, field) != value:
            setattr(thread, field, value)
            changed.append(field)
    if changed:
        thread.save(update_fields=[*changed, "updated_at"])
    return thread, changed


@transaction.atomic
def topic_lock(*, actor, topic_id: int, is_locked: bool, reason: str = "") -> tuple[Topic, bool]:
    """Lock or unlock a whole topic (moderators), logged; returns it and whether that changed anything."""
    _refuse_unless_moderator(actor)
    topic = Topic.objects.select_for_update().filter(pk=topic_id).first()
    if topic is None:
        raise Http404("No such topic.")
    if topic.is_locked == is_locked:
        return topic, False
    topic.is_locked = is_locked
    topic.save(update_fields=["is_locked", "updated_at"])
    _moderation_record(
        actor=actor,
        action="lock-topic" if is_locked else "unlock-topic",
        target=topic,
        target_type="topic",
        reason=reason,
        before={"is_locked": not is_locked},
        after={"is_locked": is_locked},
    )
    return topic, True
