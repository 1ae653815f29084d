"""The sites allowed to embed the debate (the admin's list; EMBED_ALLOWED_ORIGINS adds the operator's)."""

from django.db import IntegrityError, transaction

from discussions.embedding import allowed_origins_forget, origin_clean
from discussions.models import EmbedOrigin
from forum.errors import Invalid, NotAllowed, NotFound
from forum.models import ModerationAction
from forum.permissions import refuse_if_suspended
from forum.services import moderation_log_append

Action = ModerationAction.Action
TARGET = "embed-origin"


def _refuse_unless(actor, codename: str) -> None:
    if not (actor.is_active and actor.has_perm(f"discussions.{codename}")):
        raise NotAllowed("Only operators with the right to manage embedding may change the allowed sites.")
    refuse_if_suspended(actor)


def embed_origin_add(*, actor, origin: str, note: str = "") -> EmbedOrigin:
    """Allow one more site to frame the widget; the cached list is dropped once the row is committed."""
    _refuse_unless(actor, "add_embedorigin")
    cleaned = origin_clean(origin)
    try:
        with transaction.atomic(durable=True):
            row = EmbedOrigin.objects.create(origin=cleaned, note=(note or "").strip()[:200])
            after = {"origin": row.origin, "note": row.note}
            moderation_log_append(actor=actor, action=Action.ALLOW_EMBED, target_type=TARGET, target=row, after=after)
            transaction.on_commit(allowed_origins_forget)
    except IntegrityError:
        raise Invalid.on("origin", f"{cleaned} is already allowed.") from None
    return row


def embed_origin_update(*, actor, origin_id: int, origin: str, note: str = "") -> EmbedOrigin:
    """Change an allowed site's origin or note."""
    _refuse_unless(actor, "change_embedorigin")
    cleaned = origin_clean(origin)
    try:
        with transaction.atomic(durable=True):
            row = EmbedOrigin.objects.select_for_update().filter(pk=origin_id).first()
            if row is None:
                raise NotFound("No such allowed site.")
            before = {"origin": row.origin, "note": row.note}
            row.origin, row.note = cleaned, (note or "").strip()[:200]
            after = {"origin": row.origin, "note": row.note}
            if after == before:
                return row  # a no-op writes no log row
            row.save(update_fields=["origin", "note"])
            moderation_log_append(
                actor=actor, action=Action.CHANGE_EMBED, target_type=TARGET, target=row, before=before, after=after
            )
            transaction.on_commit(allowed_origins_forget)
    except IntegrityError:
        raise Invalid.on("origin", f"{cleaned} is already allowed.") from None
    return row


def embed_origin_remove(*, actor, origin_id: int) -> None:
    """Stop allowing a site: its pages no longer frame the widget once the cached list expires or is dropped."""
    _refuse_unless(actor, "delete_embedorigin")
    with transaction.atomic(durable=True):
        row = EmbedOrigin.objects.select_for_update().filter(pk=origin_id).first()
        if row is None:
            raise NotFound("No such allowed site.")
        # Logged before the row goes, with what it allowed: the log outlives it.
        before = {"origin": row.origin, "note": row.note}
        moderation_log_append(actor=actor, action=Action.DISALLOW_EMBED, target_type=TARGET, target=row, before=before)
        row.delete()
        transaction.on_commit(allowed_origins_forget)
