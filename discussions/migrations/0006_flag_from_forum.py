"""Flags move here from forum (discussions builds on forum, and a flag points at a reply).

State only: the table keeps its name, forum_flag. The content type is renamed so that the
permissions already granted on flags (the Moderators group's view_flag) stay granted.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def content_type_to_discussions(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    # A type created under the new label (post_migrate of an earlier partial run) would clash with the rename.
    old = ContentType.objects.filter(app_label="forum", model="flag")
    if old.exists():
        ContentType.objects.filter(app_label="discussions", model="flag").delete()
        old.update(app_label="discussions")


def content_type_to_forum(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="discussions", model="flag").update(app_label="forum")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("discussions", "0005_vote_drop_redundant_fk_indexes"),
        ("forum", "0004_moderation_log_reply_edits"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Flag",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("reason", models.CharField(choices=[("spam", "spam"), ("abuse", "abuse"), ("off-topic", "off-topic"), ("wrong-stance", "wrong stance"), ("other", "other")], max_length=20)),
                        ("text", models.TextField(blank=True)),
                        ("state", models.CharField(choices=[("open", "open"), ("resolved", "resolved: reply hidden"), ("dismissed", "dismissed")], default="open", max_length=10)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ("handled_at", models.DateTimeField(blank=True, null=True)),
                        ("handled_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("reply", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="flags", to="discussions.reply")),
                        ("reporter", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="flags", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "forum_flag",
                        "ordering": ["created_at", "id"],
                        "indexes": [models.Index(condition=models.Q(("state", "open")), fields=["created_at", "id"], name="flag_open_queue_idx"), models.Index(fields=["reply", "state"], name="flag_reply_state_idx")],
                        "constraints": [models.UniqueConstraint(condition=models.Q(("state", "open")), fields=("reporter", "reply"), name="flag_one_open_per_user_and_reply"), models.CheckConstraint(condition=models.Q(("state__in", ["open", "resolved", "dismissed"])), name="flag_state_valid")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_discussions, content_type_to_forum),
    ]
