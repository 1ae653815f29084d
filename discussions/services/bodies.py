"""A reply's stored rendering: body_html, mentions and quotes, made on each write and on a renderer change."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import Lower

from discussions import formatting, search
from discussions.models import Reply


def body_render(*, text: str, topic_id: int, strict: bool = True) -> formatting.Rendered:
    """Render a body for a reply of this topic; quotes must name visible replies of the same topic."""

    def find_users(names: set[str]) -> dict[str, str]:
        users = get_user_model().objects.annotate(lowered=Lower("username"))
        # Ordered, so two legacy accounts differing only in case resolve the same way every time.
        found = users.filter(lowered__in=names, is_active=True).order_by("-id").values_list("lowered", "username")
        return dict(found)

    def find_replies(ids: set[int]) -> dict[int, str]:
        quotable = Reply.objects.filter(pk__in=ids, topic_id=topic_id, state=Reply.State.VISIBLE)
        return dict(quotable.values_list("pk", "author__username"))

    return formatting.render(text, find_users=find_users, find_replies=find_replies, strict=strict)


def body_prepare(reply: Reply) -> formatting.Rendered:
    """Render the (unsaved or edited) reply's body onto its columns, before it is saved; Invalid on a bad quote."""
    rendered = body_render(text=reply.body, topic_id=reply.topic_id)
    _columns(reply, rendered)
    return rendered


def body_written(reply: Reply, rendered: formatting.Rendered, *, is_new: bool) -> None:
    """After the reply's row is saved: its mention and quote relations, and its search entry."""
    _relate(reply, rendered, is_new=is_new)
    search.index_reply(reply_id=reply.pk, thread_id=reply.thread_id, body=reply.body)


RENDERED_COLUMNS = ["body_html", "mentions", "quotes", "render_version"]


def _columns(reply: Reply, rendered: formatting.Rendered) -> None:
    reply.body_html, reply.mentions, reply.quotes = rendered.html, rendered.mentions, rendered.quotes
    reply.render_version = formatting.RENDER_VERSION


def _relate(reply: Reply, rendered: formatting.Rendered, *, is_new: bool) -> None:
    # A new reply has no relations yet: insert only (and nothing at all for a body without any).
    if rendered.mentions or not is_new:
        users = dict(get_user_model().objects.filter(username__in=rendered.mentions).values_list("username", "pk"))
        _set(Reply.mentioned_users.through, reply, "user_id", [users[u] for u in rendered.mentions if u in users])
    if rendered.quotes or not is_new:
        _set(Reply.quoted_replies.through, reply, "to_reply_id", rendered.quotes)


def _set(through, reply: Reply, column: str, ids: list[int]) -> None:
    source = "from_reply_id" if column == "to_reply_id" else "reply_id"
    existing = set(through.objects.filter(**{source: reply.pk}).values_list(column, flat=True))
    wanted = set(ids)
    if stale := existing - wanted:
        through.objects.filter(**{source: reply.pk, f"{column}__in": stale}).delete()
    if new := wanted - existing:
        through.objects.bulk_create([through(**{source: reply.pk, column: i}) for i in sorted(new)])


def reply_bodies_rerender(*, reply_ids: list[int]) -> int:
    """Render these replies' bodies again with the current renderer; returns how many changed."""
    changed = 0
    with transaction.atomic(durable=True):
        for reply in Reply.objects.select_for_update(no_key=True).filter(pk__in=reply_ids).order_by("pk"):
            rendered = body_render(text=reply.body, topic_id=reply.topic_id, strict=False)
            before = (reply.body_html, reply.mentions, reply.quotes, reply.render_version)
            _columns(reply, rendered)
            reply.save(update_fields=RENDERED_COLUMNS)
            _relate(reply, rendered, is_new=False)
            changed += before != (reply.body_html, reply.mentions, reply.quotes, reply.render_version)
    return changed
