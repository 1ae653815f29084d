"""Seed the debate described in discussions.seed_content; safe to run any number of times."""

import contextlib

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import connection

from discussions import seed_content, services
from discussions.models import Reply, Thread, Topic

SEED_USERNAME = "debate-seed"
# Any fixed 64-bit number: the key of the advisory lock that queues concurrent seeders.
SEED_LOCK_KEY = 0x5EED_DEBA7E


class Command(BaseCommand):
    help = "Create the seeded debate topic, its stances and threads; what already exists is left alone."

    def handle(self, *args, **options):
        seed_user = self._seed_user()
        topic_spec = seed_content.TOPIC
        with _seeders_queued():
            topic_created = not Topic.objects.filter(slug=topic_spec["slug"]).exists()
            if topic_created:
                services.topic_create(actor=None, **topic_spec, stances=seed_content.STANCES)
            topic = Topic.objects.get(slug=topic_spec["slug"])
            if not topic.source_url:  # seeded before topics knew their article; an operator's choice is kept
                services.topic_update(actor=None, topic=topic, source_url=topic_spec["source_url"])
            created = present = 0
            for spec in seed_content.THREADS:
                # Each thread and each reply is its service's own transaction; a crash leaves whole posts, and a
                # rerun finds what is there (by author and text) and posts only the rest.
                thread = Thread.objects.filter(topic=topic, author=seed_user, title=spec["title"].strip()).first()
                if thread is None:
                    thread = self._create_thread(seed_user, topic, spec)
                    created += 1
                else:
                    present += 1
                self._answer(seed_user, thread, spec)

        self.stdout.write(
            f"seed_debate: topic {topic.slug} {'created' if topic_created else 'already present'} — "
            f"{created} threads created, {present} already present"
        )

    def _seed_user(self):
        """The system account that authors seeded content; it can never log in."""
        user, _ = get_user_model().objects.get_or_create(
            username=SEED_USERNAME, defaults={"is_active": False, "password": make_password(None)}
        )
        # An existing account is re-locked in case someone activated it or gave it a password.
        if user.is_active or user.has_usable_password():
            user.is_active = False
            user.set_unusable_password()
            user.save(update_fields=["is_active", "password"])
        return user

    @staticmethod
    def _create_thread(actor, topic, spec):
        opening = spec["opening"]
        return services.thread_create(
            actor=actor, topic_slug=topic.slug, title=spec["title"], body=opening["body"], stance_slug=opening["stance"]
        )

    @staticmethod
    def _answer(actor, thread, spec):
        """Post the thread's seeded replies that are not there yet."""
        posted = set(Reply.objects.filter(thread=thread, author=actor).values_list("body", flat=True))
        for reply in spec["replies"]:
            if reply["body"].strip() in posted:
                continue
            services.reply_create(
                actor=actor,
                thread_id=thread.pk,
                body=reply["body"],
                stance_slug=reply["stance"],
                parent_id=thread.opening_reply_id if reply.get("answers_opening") else None,
            )


@contextlib.contextmanager
def _seeders_queued():
    """Two seeders at once take turns (a PostgreSQL session lock; SQLite has a single writer anyway)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [SEED_LOCK_KEY])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SEED_LOCK_KEY])
