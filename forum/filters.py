import datetime

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from forum.models import ModerationAction


class IdFilter(django_filters.NumberFilter):
    """A whole-number id within the database's 64-bit range; anything else is a 400 naming the filter."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)
        # An integer in the schema as well: drf-spectacular reads a NumberFilter as any number (clients sent 7.0).
        schema = {"type": "integer", "minimum": kwargs["min_value"], "maximum": kwargs["max_value"]}
        if self.extra.get("help_text"):
            schema["description"] = self.extra["help_text"]
        extend_schema_field(schema)(self)


class InstantField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 instant that can be held in UTC: 0001-01-01T00:00+01:00 is before year 1 and refused."""

    def to_python(self, value):
        instant = super().to_python(value)
        if instant is None:
            return None
        try:
            # Converting to UTC here, where a refusal is a 400, not later in the database adapter.
            return instant.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError("This instant is outside the years 1 to 9999 in UTC.") from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = InstantField


class ModerationActionFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=ModerationAction.Action.choices)
    actor = django_filters.CharFilter(field_name="actor__username")
    target_type = django_filters.ChoiceFilter(choices=[(t, t) for t in ("reply", "thread", "topic", "flag", "user")])
    target_id = IdFilter()
    since = InstantFilter(field_name="created_at", lookup_expr="gte")
    until = InstantFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = ModerationAction
        fields = ["action", "actor", "target_type", "target_id"]
