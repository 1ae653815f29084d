"""Creating topics with their stances, editing them, and locking them (moderators)."""

from django.db import IntegrityError, transaction

from discussions.bookkeeping import tallies_opened
from discussions.embedding import SOURCE_URL_MAX_LENGTH, source_key
from discussions.models import Event, Stance, Topic
from discussions.services.events import event_append
from discussions.summary_cache import summary_invalidate
from discussions.text import (
    BODY_MAX_LENGTH,
    SLUG,
    STANCE_LABEL_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    clean_optional_text,
    clean_text,
)
from forum.errors import Invalid, NotAllowed, NotFound
from forum.models import ModerationAction
from forum.permissions import refuse_if_suspended, refuse_unless_moderator, refuse_unless_topic_manager
from forum.services import moderation_log_append


def _cleaned_stances(stances: list[dict]) -> list[Stance]:
    if len(stances) < 2:
        raise Invalid.on("stances", "A debate needs at least two stances.")
    cleaned = []
    for stance in stances:
        stance_slug = stance.get("slug")
        if not isinstance(stance_slug, str) or not SLUG.fullmatch(stance_slug) or len(stance_slug) > 50:
            raise Invalid.on("stances", f"Stance slug {stance_slug!r}: use 1 to 50 letters, digits or hyphens.")
        cleaned.append(
            Stance(
                slug=stance_slug,
                label=clean_text("stances", stance.get("label"), STANCE_LABEL_MAX_LENGTH),
                description=clean_optional_text("stances", stance.get("description", ""), BODY_MAX_LENGTH),
                position=len(cleaned),
            )
        )
    if len({s.slug for s in cleaned}) != len(cleaned):
        raise Invalid.on("stances", "Stance slugs must be unique within a topic.")
    return cleaned


def _source(url) -> dict:
    """The article's address as written and its key; blank clears both."""
    url = clean_optional_text("source_url", url, SOURCE_URL_MAX_LENGTH)
    return {"source_url": url, "source_key": source_key(url, field="source_url") if url else None}


def _source_taken(key) -> Invalid:
    return Invalid.on("source_url", f"Another topic already sits under this article ({key}).")


def topic_create(
    *,
    actor,
    slug: str,
    title: str,
    question: str,
    description: str = "",
    stances: list[dict],
    source_url: str = "",
) -> Topic:
    """Create a topic with its ordered stances (each a dict with slug, label and optional description).

    `actor` None is the system (seed commands); a person must be a topic manager, and is logged.
    """
    if actor is not None:
        refuse_unless_topic_manager(actor)
        refuse_if_suspended(actor)
    if not isinstance(slug, str) or not SLUG.fullmatch(slug) or len(slug) > 80:
        raise Invalid.on("slug", "Use 1 to 80 letters, digits, hyphens or underscores.")
    cleaned = _cleaned_stances(stances)
    fields = {
        "title": clean_text("title", title, TITLE_MAX_LENGTH),
        "question": clean_text("question", question, BODY_MAX_LENGTH),
        "description": clean_optional_text("description", description, BODY_MAX_LENGTH),
    }
    source = _source(source_url)
    taken = Invalid.on("slug", f"A topic with slug '{slug}' already exists.")
    if source["source_key"] and Topic.objects.filter(source_key=source["source_key"]).exists():
        raise _source_taken(source["source_key"])
    try:
        with transaction.atomic(durable=True):
            topic = Topic.objects.create(slug=slug, **fields, **source)
            for stance in cleaned:
                stance.topic = topic
            Stance.objects.bulk_create(cleaned)
            tallies_opened(topic_id=topic.pk, stance_ids=[s.pk for s in cleaned])
            if actor is not None:
                moderation_log_append(
                    actor=actor,
                    action=ModerationAction.Action.CREATE_TOPIC,
                    target_type="topic",
                    target=topic,
                    after={**fields, "source_url": source["source_url"], "stances": [s.slug for s in cleaned]},
                )
    except IntegrityError:  # slug and source key are unique in the database; caught once rolled back
        if source["source_key"] and Topic.objects.filter(source_key=source["source_key"]).exists():
            raise _source_taken(source["source_key"]) from None
        raise taken from None
    return topic


def _lock(*, actor, topic_id: int, locked: bool, reason: str) -> Topic:
    topic = Topic.objects.select_for_update(no_key=True).filter(pk=topic_id).first()
    if topic is None:
        raise NotFound("No such topic.")
    if topic.is_locked == locked:
        return topic
    topic.is_locked = locked
    topic.save(update_fields=["is_locked", "updated_at"])
    moderation_log_append(
        actor=actor,
        action=ModerationAction.Action.LOCK_TOPIC if locked else ModerationAction.Action.UNLOCK_TOPIC,
        target=topic,
        target_type="topic",
        reason=reason,
        before={"is_locked": not locked},
        after={"is_locked": locked},
    )
    event_append(kind=Event.Kind.TOPIC_CHANGED, topic_id=topic.pk, actor_id=actor.pk)
    return topic


def topic_lock(*, actor, topic_id: int, locked: bool, reason: str = "") -> Topic:
    """Lock (no new threads or replies) or unlock a whole topic (moderators), logged; already so, nothing."""
    refuse_unless_moderator(actor)
    refuse_if_suspended(actor)
    with transaction.atomic(durable=True):
        return _lock(actor=actor, topic_id=topic_id, locked=locked, reason=reason)


def topic_update(*, actor, topic: Topic, **fields) -> Topic:
    """Change a topic's title, question, description or article (topic managers) and its lock (moderators); both
    logged. Stances are edited in the admin."""
    allowed = {"title", "question", "description", "source_url", "is_locked"}
    unknown = set(fields) - allowed
    if unknown:
        raise Invalid({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    is_locked = fields.pop("is_locked", None)
    # First, so a refusal comes before anything else is looked at. `actor` None is the system (seed_debate
    # giving the seeded topic its article): no rights to check, no log row; it never locks.
    if actor is None and is_locked is not None:
        raise NotAllowed("Locking a topic needs a moderator.")
    if actor is not None:
        if is_locked is not None:
            refuse_unless_moderator(actor)
        if fields:
            refuse_unless_topic_manager(actor)
        refuse_if_suspended(actor)
    if "title" in fields:
        fields["title"] = clean_text("title", fields["title"], TITLE_MAX_LENGTH)
    if "question" in fields:
        fields["question"] = clean_text("question", fields["question"], BODY_MAX_LENGTH)
    if "description" in fields:
        fields["description"] = clean_optional_text("description", fields["description"], BODY_MAX_LENGTH)
    if "source_url" in fields:
        fields.update(_source(fields["source_url"]))
        clash = Topic.objects.filter(source_key=fields["source_key"]).exclude(pk=topic.pk)
        if fields["source_key"] and clash.exists():
            raise _source_taken(fields["source_key"])
    try:
        return _update(actor=actor, topic=topic, is_locked=is_locked, fields=fields)
    except IntegrityError:  # another topic took the article meanwhile; the transaction has rolled back
        raise _source_taken(fields.get("source_key")) from None


def _update(*, actor, topic: Topic, is_locked, fields: dict) -> Topic:
    """topic_update's transaction: the lock, then the changed fields, logged."""
    with transaction.atomic(durable=True):
        if is_locked is not None:
            topic.is_locked = _lock(actor=actor, topic_id=topic.pk, locked=is_locked, reason="").is_locked
        # The stored row, locked: the caller's instance may already carry the new values (an admin form does).
        locked = Topic.objects.select_for_update(no_key=True).filter(pk=topic.pk)
        stored = locked.values(*fields).first() if fields else {}
        changed = {name: value for name, value in fields.items() if stored[name] != value}
        if changed:
            before = {name: stored[name] for name in changed}
            for name, value in changed.items():
                setattr(topic, name, value)
            topic.save(update_fields=[*changed, "updated_at"])
            logged = [name for name in changed if name != "source_key"]  # the key follows the URL
            if actor is not None:
                moderation_log_append(
                    actor=actor,
                    action=ModerationAction.Action.EDIT_TOPIC,
                    target_type="topic",
                    target=topic,
                    before={name: before[name] for name in logged},
                    after={name: changed[name] for name in logged},
                )
            event_append(kind=Event.Kind.TOPIC_CHANGED, topic_id=topic.pk, actor_id=None if actor is None else actor.pk)
        summary_invalidate(topic.pk)
    return topic
