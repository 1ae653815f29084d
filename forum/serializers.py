"""Account and moderation-log JSON, and the strict text and id fields both apps' serializers use."""

from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers


class TextField(serializers.CharField):
    """Text that must arrive as a JSON string: DRF's CharField would turn 12 or 1.5 into "12"/"1.5"."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class IdField(serializers.IntegerField):
    """An id: a JSON integer (or, from HTML forms, a string of digits); floats and booleans are refused."""

    default_error_messages = {"invalid": "A valid integer id is required."}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (isinstance(data, int) or (isinstance(data, str) and data.isdigit())):
            self.fail("invalid")
        return super().to_internal_value(data)


class RegisterInputSerializer(serializers.Serializer):
    username = TextField(max_length=150, validators=[UnicodeUsernameValidator()])
    password = TextField(max_length=128, write_only=True, trim_whitespace=False)
    # No default here: the schema would publish "" as an email address (the service's default is "").
    email = serializers.EmailField(required=False, allow_blank=True)


class RegisteredSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class TokenInputSerializer(serializers.Serializer):
    username = TextField(max_length=150)
    password = TextField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`; shown once, stored hashed.")
    expires_at = serializers.DateTimeField(allow_null=True)


class StreamTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(
        help_text="Pass it as `?ticket=` to GET /api/me/events/ (EventSource sends no headers)."
    )
    expires_at = serializers.DateTimeField()


class PasswordChangeInputSerializer(serializers.Serializer):
    old_password = TextField(max_length=128, trim_whitespace=False)
    new_password = TextField(max_length=128, trim_whitespace=False)


class ApiTokenSerializer(serializers.Serializer):
    """A token as its owner lists it: never its secret."""

    id = serializers.IntegerField()
    created_at = serializers.DateTimeField(source="created")
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(source="expiry", allow_null=True)
    current = serializers.SerializerMethodField()

    def get_current(self, token) -> bool:
        return token.pk == self.context.get("current")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField(help_text="The address given at registration, or an empty string.")
    is_moderator = serializers.BooleanField()
    is_staff = serializers.BooleanField()
    date_joined = serializers.DateTimeField()


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
