"""Moderators see failed-login lockouts (django-axes' access attempts) in the admin and lift them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = ["view_accessattempt", "delete_accessattempt"]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create axes' now so the group can hold them.
    app_config = apps.get_app_config("axes")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    permissions = Permission.objects.filter(content_type__app_label="axes", codename__in=PERMISSIONS)
    assert permissions.count() == len(PERMISSIONS), "missing axes permissions"
    group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Moderators"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="axes", codename__in=PERMISSIONS))


class Migration(migrations.Migration):
    dependencies = [
        ("forum", "0008_idempotency_keys"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
