"""The Moderators group with exactly the permissions the moderation desk needs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Moderators"
PERMISSIONS = {
    # Hide, restore, change stance, lock and pin are all gated on moderate_reply; the rest only lets the
    # admin show the pages moderators work from.
    "discussions": [
        "moderate_reply",
        "view_reply",
        "view_replyrevision",
        "view_thread",
        "view_topic",
        "view_stance",
    ],
    "forum": ["view_flag", "view_moderationaction", "view_suspension", "add_suspension", "view_user"],
}


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create them now so the group can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, codenames in PERMISSIONS.items():
        perms = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        assert perms.count() == len(codenames), f"missing permissions for {app_label}"
        group.permissions.add(*perms)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("discussions", "0004_reply_hidden_at_reply_hidden_reason"),
        ("forum", "0002_flag_moderationaction_suspension"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
