from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers

from discussions.serializers import TextField


class RegisterInputSerializer(serializers.Serializer):
    username = TextField(max_length=150, validators=[UnicodeUsernameValidator()])
    password = TextField(max_length=128, write_only=True, trim_whitespace=False)
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class RegisteredSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class TokenInputSerializer(serializers.Serializer):
    username = TextField(max_length=150)
    password = TextField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(source="key")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    is_moderator = serializers.BooleanField()
    is_staff = serializers.BooleanField()
    date_joined = serializers.DateTimeField()


class FlagInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["spam", "abuse", "off-topic", "wrong-stance", "other"])
    text = TextField(max_length=2000, required=False, allow_blank=True, default="")


class FlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reply = serializers.IntegerField(source="reply_id")
    reason = serializers.CharField()
    text = serializers.CharField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()


class ModerationActionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    actor = serializers.CharField(source="actor.username")
    action = serializers.CharField()
    target_type = serializers.CharField()
    target_id = serializers.IntegerField()
    target = serializers.CharField(source="target_repr")
    reason = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    created_at = serializers.DateTimeField()
