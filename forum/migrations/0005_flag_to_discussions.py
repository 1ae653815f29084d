"""Flags now belong to discussions (see discussions 0006): forum forgets the model, the table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("forum", "0004_moderation_log_reply_edits"),
        ("discussions", "0006_flag_from_forum"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Flag")], database_operations=[]),
    ]
