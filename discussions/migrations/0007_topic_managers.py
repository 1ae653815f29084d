"""Topic management is a right of its own: the "Topic managers" group holds it (and the admin pages it needs).

Being staff grants nothing by itself; superusers hold every permission anyway.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Topic managers"
PERMISSIONS = ["manage_topic", "add_topic", "change_topic", "view_topic", "view_stance", "change_stance"]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create them now so the group can hold them.
    app_config = apps.get_app_config("discussions")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    permissions = Permission.objects.filter(content_type__app_label="discussions", codename__in=PERMISSIONS)
    assert permissions.count() == len(PERMISSIONS), "missing permissions for the Topic managers group"
    group.permissions.add(*permissions)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("discussions", "0006_flag_from_forum"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="topic",
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [("manage_topic", "Can create topics and edit their text")],
            },
        ),
        migrations.RunPython(create_group, remove_group),
    ]
