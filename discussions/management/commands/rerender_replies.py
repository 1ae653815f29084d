"""Render stored reply bodies again after a renderer change (formatting.RENDER_VERSION)."""

from django.core.management.base import BaseCommand

from discussions import formatting
from discussions.models import Reply
from discussions.services.bodies import reply_bodies_rerender


class Command(BaseCommand):
    help = "Re-render body_html, mentions and quotes of replies made by an older renderer (or --all)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="every reply, not only those of older renderers")
        parser.add_argument("--batch", type=int, default=500, help="replies per transaction (default 500)")

    def handle(self, *args, all=False, batch=500, **options):
        replies = Reply.objects.order_by("pk")
        if not all:
            replies = replies.exclude(render_version=formatting.RENDER_VERSION)
        done = changed = 0
        last = 0
        while True:
            # By primary key from the last one done: each batch is its own short transaction.
            ids = list(replies.filter(pk__gt=last).values_list("pk", flat=True)[: max(batch, 1)])
            if not ids:
                break
            changed += reply_bodies_rerender(reply_ids=ids)
            done += len(ids)
            last = ids[-1]
        self.stdout.write(
            f"Rendered {done:,} replies again ({changed:,} changed) with renderer {formatting.RENDER_VERSION}."
        )
