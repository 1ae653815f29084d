"""Zeroed stance tallies for every topic and thread that lacks one: from now on they are born together."""

from django.db import migrations
from django.utils import timezone


def create_missing_tallies(apps, schema_editor):
    connection = schema_editor.connection
    tally = connection.ops.quote_name(apps.get_model("discussions", "StanceTally")._meta.db_table)
    stance = connection.ops.quote_name(apps.get_model("discussions", "Stance")._meta.db_table)
    thread = connection.ops.quote_name(apps.get_model("discussions", "Thread")._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = "topic_id, thread_id, stance_id, replies, participants, upvotes, downvotes, positions, updated_at"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {tally} ({columns}) SELECT s.topic_id, NULL, s.id, 0, 0, 0, 0, 0, %s FROM {stance} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {tally} t WHERE t.topic_id = s.topic_id AND t.thread_id IS NULL "
            "AND t.stance_id = s.id)",
            [now],
        )
        cursor.execute(
            f"INSERT INTO {tally} ({columns}) SELECT h.topic_id, h.id, s.id, 0, 0, 0, 0, 0, %s FROM {thread} h "
            f"JOIN {stance} s ON s.topic_id = h.topic_id WHERE NOT EXISTS (SELECT 1 FROM {tally} t "
            "WHERE t.thread_id = h.id AND t.stance_id = s.id)",
            [now],
        )


class Migration(migrations.Migration):
    dependencies = [("discussions", "0015_lean_notifications")]

    # Going back leaves the rows: zero counts are what a missing row meant.
    operations = [migrations.RunPython(create_missing_tallies, migrations.RunPython.noop)]
