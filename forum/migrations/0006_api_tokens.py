"""API tokens hashed at rest (knox), one per login; the clear-text keys of DRF's authtoken become digests.

A client holding an old key keeps working until the token expires: the key is hashed as knox hashes a new
one (SHA-512 of the key), its first 15 characters index it, and the clear-text row is removed.
"""

import datetime
import hashlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def keys_to_digests(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return  # a database that never had DRF's tokens
    ApiToken = apps.get_model("forum", "ApiToken")
    ttl = getattr(settings, "REST_KNOX", {}).get("TOKEN_TTL", datetime.timedelta(days=30))
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id FROM authtoken_token")
        rows = cursor.fetchall()
        ApiToken.objects.bulk_create(
            ApiToken(
                token_key=key[:15],
                digest=hashlib.sha512(key.encode()).hexdigest(),
                user_id=user_id,
                expiry=timezone.now() + ttl,
            )
            for key, user_id in rows
        )
        cursor.execute("DELETE FROM authtoken_token")


class Migration(migrations.Migration):

    dependencies = [
        ('forum', '0005_flag_to_discussions'),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('token_key', models.CharField(db_index=True, max_length=25)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('expiry', models.DateTimeField(blank=True, null=True)),
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('digest', models.CharField(max_length=128, unique=True)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auth_token_set', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['user', 'created'], name='apitoken_user_idx')],
            },
        ),
        # Not reversible: the clear-text keys are gone by design.
        migrations.RunPython(keys_to_digests, migrations.RunPython.noop),
    ]
