"""Seed the debate described in discussions.seed_content; safe to run any number of times."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction

from discussions import seed_content, services
from discussions.models import Thread, Topic

SEED_USERNAME = "debate-seed"


class Command(BaseCommand):
    help = "Create the seeded debate topic, its stances and threads; what already exists is left alone."

    def handle(self, *args, **options):
        seed_user = self._seed_user()
        topic_spec = seed_content.TOPIC
        with transaction.atomic():
            self._lock(seed_user)
            topic_created = not Topic.objects.filter(slug=topic_spec["slug"]).exists()
            if topic_created:
                services.topic_create(**topic_spec, stances=seed_content.STANCES)
        topic = Topic.objects.get(slug=topic_spec["slug"])

        created = present = 0
        for spec in seed_content.THREADS:
            # One transaction per thread: a crash leaves whole threads or none, and a rerun finishes the rest.
            with transaction.atomic():
                self._lock(seed_user)
                if Thread.objects.filter(topic=topic, author=seed_user, title=spec["title"].strip()).exists():
                    present += 1
                    continue
                self._create_thread(seed_user, topic, spec)
                created += 1

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
    def _lock(user):
        # Serialises concurrent seeders between their existence check and their writes (a no-op on SQLite).
        get_user_model().objects.select_for_update().get(pk=user.pk)

    @staticmethod
    def _create_thread(actor, topic, spec):
        opening = spec["opening"]
        thread = services.thread_create(
            actor=actor, topic_slug=topic.slug, title=spec["title"], body=opening["body"], stance_slug=opening["stance"]
        )
        for reply in spec["replies"]:
            services.reply_create(
                actor=actor,
                thread_id=thread.pk,
                body=reply["body"],
                stance_slug=reply["stance"],
                parent_id=thread.opening_reply_id if reply.get("answers_opening") else None,
            )
