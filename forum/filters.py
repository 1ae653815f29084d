import django_filters

from discussions.filters import IdFilter
from forum.models import ModerationAction


class ModerationActionFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=ModerationAction.Action.choices)
    actor = django_filters.CharFilter(field_name="actor__username")
    target_type = django_filters.ChoiceFilter(choices=[(t, t) for t in ("reply", "thread", "topic", "flag", "user")])
    target_id = IdFilter()
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = ModerationAction
        fields = ["action", "actor", "target_type", "target_id"]
