"""Replies: hide (asks for a reason), restore and change stance, each through discussions.services."""

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from discussions import search, services
from discussions.models import Flag, Reply, ReplyRevision, Stance
from discussions.text import BODY_MAX_LENGTH
from forum.admin.base import ReadOnlyMixin, Unchanged, label, moderation_history
from forum.errors import Invalid

# The moderators' search box goes through the readers' full-text search, hidden and withdrawn replies included.
ADMIN_SEARCH_LIMIT = 1000


class StanceFilter(admin.SimpleListFilter):
    """Stances with their topic: slugs repeat across topics."""

    title = "stance"
    parameter_name = "stance"

    def lookups(self, request, model_admin):
        stances = Stance.objects.select_related("topic").order_by("topic__slug", "position", "id")
        return [(str(s.pk), f"{s.topic.slug} / {s.slug}") for s in stances]

    def queryset(self, request, queryset):
        return queryset.filter(stance_id=self.value()) if self.value() else queryset


class OpenFlagsFilter(admin.SimpleListFilter):
    title = "has open flags"
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", "yes"), ("no", "no")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(open_flags__gt=0)
        if self.value() == "no":
            return queryset.filter(open_flags=0)
        return queryset


class ReplyRevisionInline(admin.TabularInline):
    model = ReplyRevision
    extra = 0
    fields = ["created_at", "edited_by", "stance", "body"]
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("edited_by", "stance__topic")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class FlagInline(admin.TabularInline):
    model = Flag
    fk_name = "reply"
    extra = 0
    fields = ["created_at", "reporter", "reason", "text", "state", "handled_by", "handled_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reporter", "handled_by")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class HideForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=BODY_MAX_LENGTH,
        help_text="Kept with the reply and in the moderation log.",
    )


class StanceChangeForm(forms.Form):
    stance = forms.ChoiceField(help_text="Each reply moves to the stance with this slug in its own topic.")
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), help_text="Optional, for the log."
    )

    def __init__(self, *args, slugs: dict[str, list[str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stance"].choices = [
            (slug, f"{slug} ({', '.join(topics)})") for slug, topics in sorted(slugs.items())
        ]


@admin.register(Reply)
class ReplyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "short_body", "stance", "author", "thread", "score", "state", "open_flags"]
    list_filter = ["topic", StanceFilter, "state", OpenFlagsFilter]
    # Each row's stance prints its topic's slug, hence stance__topic.
    list_select_related = ["stance__topic", "author", "thread"]
    # The unfiltered total would be a second COUNT over every reply on each page view.
    show_full_result_count = False
    search_fields = ["body", "author__username"]
    raw_id_fields = ["thread", "parent", "author", "stance"]
    actions = ["hide", "restore", "change_stance"]
    inlines = [ReplyRevisionInline, FlagInline]
    fields = [
        "topic",
        "thread",
        "parent",
        "author",
        "stance",
        "state",
        "body",
        "rendered",
        "mentions",
        "quotes",
        "upvotes",
        "downvotes",
        "score",
        "wilson",
        "controversy",
        "bridging",
        "votes_by_stance",
        "persuaded_count",
        "created_at",
        "updated_at",
        "withdrawn_at",
        "hidden_at",
        "hidden_reason",
        "moderation_log",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(open_flags=Count("flags", filter=Q(flags__state="open")))

    @admin.display(description="body")
    def short_body(self, obj):
        return Truncator(obj.body).chars(80)

    @admin.display(description="as readers see it")
    def rendered(self, obj):
        # Safe to show as HTML: body_html was sanitised by nh3 against an allow-list when it was stored.
        return mark_safe(f'<div class="rendered-body">{obj.body_html}</div>')  # noqa: S308

    def get_search_results(self, request, queryset, search_term):
        """Words as in /api/search/ (stemmed, "phrases", -exclusions), or a username exactly."""
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            query = search.parse(term)
        except Invalid:
            return queryset.filter(author__username__iexact=term), False
        hits = search.find(query, filters={}, offset=0, limit=ADMIN_SEARCH_LIMIT, visible_only=False)
        return queryset.filter(Q(pk__in=[h.reply_id for h in hits]) | Q(author__username__iexact=term)), False

    @admin.display(description="open flags", ordering="open_flags")
    def open_flags(self, obj):
        return obj.open_flags

    @admin.display(description="moderation log")
    def moderation_log(self, obj):
        return moderation_history("reply", obj.pk)

    @admin.action(description="Hide selected replies (asks for a reason)", permissions=["moderate"])
    def hide(self, request, queryset):
        replies = list(queryset)
        form = HideForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self.action_form_page(
                request,
                replies,
                action="hide",
                title="Hide replies",
                form=form,
                intro="Hidden replies leave every list, count and summary until restored.",
            )
        reason = form.cleaned_data["reason"]

        def act(reply):
            services.reply_hide(actor=request.user, reply_id=reply.pk, reason=reason)

        self.apply_each(request, replies, act, done="Hid {count} replies.")

    @admin.action(description="Restore selected hidden replies", permissions=["moderate"])
    def restore(self, request, queryset):
        def act(reply):
            services.reply_restore(actor=request.user, reply_id=reply.pk)

        self.apply_each(request, list(queryset), act, done="Restored {count} replies.")

    @admin.action(description="Change the stance of selected replies", permissions=["moderate"])
    def change_stance(self, request, queryset):
        replies = list(queryset)
        stances = Stance.objects.filter(topic_id__in={r.topic_id for r in replies}).select_related("topic")
        topics_by_slug = {}  # each slug offered, with the topics of the selection that have it
        for stance in stances.order_by("topic__slug", "position", "id"):
            topics_by_slug.setdefault(stance.slug, []).append(stance.topic.slug)
        form = StanceChangeForm(request.POST if "apply" in request.POST else None, slugs=topics_by_slug)
        if not form.is_valid():
            return self.action_form_page(
                request,
                replies,
                action="change_stance",
                title="Change the stance of replies",
                form=form,
                intro="Each reply keeps its votes; the earlier stance is kept as a revision.",
            )
        slug, reason = form.cleaned_data["stance"], form.cleaned_data["reason"]

        def act(reply):
            # The service leaves a visible reply already on that stance as it is, saying nothing.
            if reply.state == Reply.State.VISIBLE and reply.stance.slug == slug:
                raise Unchanged(f"{label(reply)} is already on '{slug}'.")
            services.reply_stance_change(actor=request.user, reply_id=reply.pk, stance_slug=slug, reason=reason)

        self.apply_each(request, replies, act, done=f"Moved {{count}} replies to '{slug}'.")
