"""Index every reply for full-text search again, after a bulk load that went around the services."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from discussions import search
from discussions.models import Topic


class Command(BaseCommand):
    help = "Rebuild the full-text search index of replies (all topics, or one with --topic)."

    def add_arguments(self, parser):
        parser.add_argument("--topic", help="slug of the one topic to index again")

    def handle(self, *args, topic=None, **options):
        topic_id = None
        if topic:
            topic_id = Topic.objects.filter(slug=topic).values_list("pk", flat=True).first()
            if topic_id is None:
                raise CommandError(f"No topic with slug '{topic}'.")
        with transaction.atomic():
            written = search.index_rebuild(topic_id=topic_id)
        self.stdout.write(f"Indexed {written:,} replies for search.")
