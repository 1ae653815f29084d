"""Topics: created with their stances and edited through discussions.services; lock and unlock; the balance."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction

from discussions import selectors, services
from discussions.admin.charts import DAYS, stance_balance_svg
from discussions.embedding import source_key
from discussions.models import DailyTally, Stance, Topic
from forum.admin.base import DeskMixin, ServiceErrorsAsMessages, Unchanged, label
from forum.errors import Invalid


class StanceInline(admin.TabularInline):
    model = Stance
    extra = 0
    fields = ["position", "slug", "label", "description"]
    # Replies' votes_by_stance and the API's stance filters key on the slug: fixed once it exists.
    readonly_fields = ["slug"]
    ordering = ["position", "id"]

    def has_add_permission(self, request, obj=None):
        # A new stance would change the bridging score of every reply already voted on (see ranking);
        # stances are set when the topic is created.
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # replies, votes and tallies point at their stance


class SourceUrlForm(forms.ModelForm):
    """The article's address is checked here as the service will, so a refusal keeps what was typed."""

    def clean_source_url(self):
        url = self.cleaned_data.get("source_url", "").strip()
        if not url:
            return ""
        try:
            key = source_key(url, field="source_url")
        except Invalid as exc:
            raise ValidationError(exc.errors["source_url"]) from None
        clash = Topic.objects.filter(source_key=key).exclude(pk=self.instance.pk).first()
        if clash is not None:
            raise ValidationError(f"Topic {clash.slug} already sits under this article ({key}).")
        return url


class TopicAddForm(SourceUrlForm):
    """A new topic with its stances, created by discussions.services.topic_create."""

    stances = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="One stance per line, in order: slug | label. At least two.",
    )

    class Meta:
        model = Topic
        fields = ["slug", "title", "question", "description", "source_url"]

    def clean_stances(self):
        parsed = []
        for number, line in enumerate(self.cleaned_data["stances"].splitlines(), start=1):
            if not line.strip():
                continue
            slug, sep, label_text = (part.strip() for part in line.partition("|"))
            if not sep or not slug or not label_text:
                raise ValidationError(f"Line {number}: write 'slug | label'.")
            forms.SlugField(max_length=50).clean(slug)
            parsed.append({"slug": slug, "label": label_text})
        if len(parsed) < 2:
            raise ValidationError("A debate needs at least two stances.")
        if len({s["slug"] for s in parsed}) != len(parsed):
            raise ValidationError("Stance slugs must be unique within a topic.")
        return parsed


@admin.register(Topic)
class TopicAdmin(ServiceErrorsAsMessages, DeskMixin, admin.ModelAdmin):
    list_display = [
        "slug",
        "title",
        "source_url",
        "thread_count",
        "reply_count",
        "participant_count",
        "is_locked",
        "created_at",
    ]
    list_filter = ["is_locked"]
    search_fields = ["slug", "title", "question", "source_url"]
    actions = ["lock", "unlock"]
    inlines = [StanceInline]
    readonly_fields = [
        "slug",
        "is_locked",
        "thread_count",
        "reply_count",
        "participant_count",
        "shift_count",
        "created_at",
        "updated_at",
        "stance_balance",
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["slug", "title", "question", "description", "source_url", "stances"]})]
        return [
            (None, {"fields": ["slug", "title", "question", "description", "source_url", "is_locked"]}),
            ("Stance balance", {"fields": ["stance_balance"]}),
            (
                "Counters",
                {"fields": ["thread_count", "reply_count", "participant_count", "shift_count"]},
            ),
            (None, {"fields": ["created_at", "updated_at"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": ["title"]} if obj is None else {}

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = TopicAddForm if obj is None else SourceUrlForm
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.topic_update(
                actor=request.user,
                topic=obj,
                title=data["title"],
                question=data["question"],
                description=data["description"],
                source_url=data["source_url"],
            )
            return
        topic = services.topic_create(
            actor=request.user,
            slug=data["slug"],
            title=data["title"],
            question=data["question"],
            description=data["description"],
            source_url=data["source_url"],
            stances=data["stances"],
        )
        obj.pk, obj.created_at = topic.pk, topic.created_at

    def save_related(self, request, form, formsets, change):
        if change:  # stance labels, descriptions and order; the topic's stances were created with it
            # The view runs outside a transaction (see ServiceErrorsAsMessages): the stances change together.
            with transaction.atomic():
                super().save_related(request, form, formsets, change)

    @admin.display(description="stance balance")
    def stance_balance(self, obj):
        summary, _ = selectors.topic_summary(topic=obj)
        return stance_balance_svg(summary, self._daily_rows(obj))

    @staticmethod
    def _daily_rows(topic):
        days = list(
            DailyTally.objects.filter(topic=topic, replies__gt=0)
            .order_by("-day")
            .values_list("day", flat=True)
            .distinct()[:DAYS]
        )
        if not days:
            return []
        return DailyTally.objects.filter(topic=topic, day__gte=days[-1]).values_list("day", "stance__slug", "replies")

    def _switch(self, request, queryset, *, locked: bool):
        state = "locked" if locked else "unlocked"

        def act(topic):
            # The service returns quietly for a topic already so; the desk says so instead of counting it.
            if topic.is_locked == locked:
                raise Unchanged(f"{label(topic)} is already {state}.")
            services.topic_lock(actor=request.user, topic_id=topic.pk, locked=locked)

        self.apply_each(request, list(queryset), act, done=f"{{count}} topics {state}.")

    @admin.action(description="Lock selected topics (no new threads or replies)", permissions=["moderate"])
    def lock(self, request, queryset):
        self._switch(request, queryset, locked=True)

    @admin.action(description="Unlock selected topics", permissions=["moderate"])
    def unlock(self, request, queryset):
        self._switch(request, queryset, locked=False)
