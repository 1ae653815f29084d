"""Query-string filters of the list endpoints; slugs are matched within their parent topic's rows."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, Subquery

from discussions.models import Reply, Stance, Thread, Topic
from discussions.selectors import REPLY_ORDERINGS, THREAD_ORDERINGS
from forum.filters import IdFilter


def _author_q(value: str) -> Q:
    """An author given by username, or by numeric id."""
    query = Q(username=value)
    if value.isascii() and value.isdigit() and int(value) < 2**63:  # a bigger number cannot be an id, only a username
        query |= Q(pk=int(value))
    # The ids looked up first, as literals: PostgreSQL then estimates from that author's own share of the rows
    # (its most-common-values statistics) and walks the (author, topic, created_at) index of a prolific one,
    # where a join (or an InitPlan) is planned for the average author and ends in a bitmap scan and a sort.
    return Q(author_id__in=list(get_user_model().objects.filter(query).values_list("pk", flat=True)))


def _in_topic(qs, name, value):
    # topic_id = (SELECT id … WHERE slug = …) rather than a join on the slug: the planner then knows the
    # topic id when it starts and walks the (topic, ordering) index instead of sorting the whole topic.
    return qs.filter(topic_id=_topic_id(value))


def _topic_id(slug: str) -> Subquery:
    return Subquery(Topic.objects.filter(slug=slug).order_by().values("pk")[:1])


class _OrderingFilter(django_filters.ChoiceFilter):
    """`ordering=<name>` picked from a fixed map of names to indexed column orders."""

    def __init__(self, orderings: dict, **kwargs):
        self.orderings = orderings
        super().__init__(choices=[(name, name) for name in orderings], **kwargs)

    def filter(self, qs, value):
        return qs.order_by(*self.orderings[value]) if value else qs


class ThreadFilter(django_filters.FilterSet):
    topic = django_filters.CharFilter(method=_in_topic, help_text="Topic slug.")
    stance = django_filters.CharFilter(method="filter_stance", help_text="Stance slug of the (visible) opening post.")
    author = django_filters.CharFilter(method="filter_author", help_text="Author's username or id.")
    is_pinned = django_filters.BooleanFilter()
    ordering = _OrderingFilter(THREAD_ORDERINGS, help_text="Default: pinned first, then newest.")

    class Meta:
        model = Thread
        fields = ["topic", "stance", "author", "is_pinned"]

    def filter_stance(self, qs, name, value):
        # The opening post's stance, of that slug in the topic given (slugs repeat across topics).
        stances = Stance.objects.filter(slug=value).order_by()
        if self.form.cleaned_data.get("topic"):
            stances = stances.filter(topic_id=_topic_id(self.form.cleaned_data["topic"]))
        return qs.filter(opening_reply__stance_id__in=stances.values("pk"), opening_reply__state=Reply.State.VISIBLE)

    def filter_author(self, qs, name, value):
        return qs.filter(_author_q(value))


class ReplyFilter(django_filters.FilterSet):
    thread = IdFilter(field_name="thread_id", help_text="Thread id.")
    topic = django_filters.CharFilter(method=_in_topic, help_text="Topic slug.")
    stance = django_filters.CharFilter(
        method="filter_stance",
        help_text="Stance slug, within the topic or thread given (without either: that slug in every topic).",
    )
    author = django_filters.CharFilter(method="filter_author", help_text="Author's username or id.")
    parent = IdFilter(field_name="parent_id", help_text="Id of the reply answered.")
    is_root = django_filters.BooleanFilter(
        field_name="parent", lookup_expr="isnull", help_text="true: replies that answer no other reply."
    )
    ordering = _OrderingFilter(REPLY_ORDERINGS, help_text="Default: created_at (conversation order).")

    class Meta:
        model = Reply
        fields = ["thread", "topic", "stance", "author", "parent", "is_root"]

    def filter_author(self, qs, name, value):
        return qs.filter(_author_q(value))

    def filter_stance(self, qs, name, value):
        # Resolved to the one stance id of the topic (or the thread's topic) given: slugs repeat across topics,
        # and `stance_id = (SELECT …)` lets the planner walk the (stance, ordering) index of that stance alone.
        given = self.form.cleaned_data
        stances = Stance.objects.filter(slug=value).order_by()
        if given.get("topic"):
            return qs.filter(stance_id=Subquery(stances.filter(topic_id=_topic_id(given["topic"])).values("pk")[:1]))
        if given.get("thread") is not None:
            in_thread = Thread.objects.filter(pk=given["thread"]).values("topic_id")[:1]
            return qs.filter(stance_id=Subquery(stances.filter(topic_id=Subquery(in_thread)).values("pk")[:1]))
        return qs.filter(stance_id__in=stances.values("pk"))
