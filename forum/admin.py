"""The moderation desk: the whole admin of the forum and its debate.

Every moderation act runs through forum.services, so each one moves the counters and writes its
ModerationAction row in one transaction; nothing here writes a moderated field itself.
"""

import csv
import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, Case, Count, Exists, OuterRef, Q, Value, When
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from discussions import selectors
from discussions import services as discussion_services
from discussions.models import DailyTally, Reply, ReplyRevision, Stance, Thread, Topic, Vote
from discussions.permissions import can_moderate
from forum import services
from forum.admin_charts import DAYS, stance_balance_svg
from forum.models import Flag, ModerationAction, Suspension, User

ACTION_FORM_TEMPLATE = "admin/forum/moderation_action_form.html"


class Refused(Exception):
    """An object the action does not apply to (reported as an error, the others still go ahead)."""


class Unchanged(Exception):
    """An object already in the state the action asks for (reported as a warning, nothing logged)."""


def _label(obj) -> str:
    return f"{obj._meta.verbose_name} #{obj.pk}"


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or exc.__class__.__name__


class DeskMixin:
    """Moderation actions need discussions.moderate_reply; nothing anyone wrote is deleted here."""

    def has_moderate_permission(self, request):
        return can_moderate(request.user)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def apply_each(self, request, objects, act, *, done: str) -> int:
        """Run `act` on each object (each service call is its own transaction); report each failure."""
        count = 0
        for obj in objects:
            try:
                act(obj)
            except Unchanged as exc:
                self.message_user(request, f"{_label(obj)}: {exc}", level=messages.WARNING)
            # PermissionDenied too: a service refusing must read as a message, never as a 500.
            except (Refused, PermissionDenied, Http404, ValidationError) as exc:
                self.message_user(request, f"{_label(obj)}: {_message(exc)}", level=messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, done.format(count=count), level=messages.SUCCESS)
        return count

    def action_form_page(self, request, objects, *, action: str, title: str, form, intro: str = ""):
        """The intermediate page of an action that needs input; it posts back to the changelist."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "opts": self.model._meta,
            "objects": objects,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, ACTION_FORM_TEMPLATE, context)


class ReadOnlyMixin(DeskMixin):
    """Shown, never edited or added here: changes go through the actions."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ServiceErrorsAsMessages:
    """A service refusing a save (say, a race the form could not foresee) reads as a message, not a 500."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            # The parent wraps the save in a transaction; the exception rolls it back before we get here.
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, _message(exc), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# --- Replies -------------------------------------------------------------------------------------


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
        max_length=discussion_services.BODY_MAX_LENGTH,
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


def _moderation_history(target_type: str, target_id: int):
    rows = list(
        ModerationAction.objects.filter(target_type=target_type, target_id=target_id)
        .select_related("actor")
        .order_by("created_at", "id")
    )
    if not rows:
        return "—"
    items = format_html_join(
        "",
        "<li>{} · {} by {}{}</li>",
        (
            (f"{r.created_at:%Y-%m-%d %H:%M}", r.get_action_display(), r.actor, f": {r.reason}" if r.reason else "")
            for r in rows
        ),
    )
    return format_html("<ul>{}</ul>", items)


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

    @admin.display(description="open flags", ordering="open_flags")
    def open_flags(self, obj):
        return obj.open_flags

    @admin.display(description="moderation log")
    def moderation_log(self, obj):
        return _moderation_history("reply", obj.pk)

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
            if reply.state != Reply.State.VISIBLE:
                raise Refused(f"is {reply.state}; only visible replies can be hidden.")
            services.reply_hide(actor=request.user, reply_id=reply.pk, reason=reason)

        self.apply_each(request, replies, act, done="Hid {count} replies.")

    @admin.action(description="Restore selected hidden replies", permissions=["moderate"])
    def restore(self, request, queryset):
        def act(reply):
            if reply.state != Reply.State.HIDDEN:
                raise Refused(f"is {reply.state}; only hidden replies can be restored.")
            services.reply_restore(actor=request.user, reply_id=reply.pk)

        self.apply_each(request, list(queryset), act, done="Restored {count} replies.")

    @admin.action(description="Change the stance of selected replies", permissions=["moderate"])
    def change_stance(self, request, queryset):
        replies = list(queryset)
        stances = Stance.objects.filter(topic_id__in={r.topic_id for r in replies}).select_related("topic")
        slugs_by_topic, topics_by_slug = {}, {}
        for stance in stances.order_by("topic__slug", "position", "id"):
            slugs_by_topic.setdefault(stance.topic_id, set()).add(stance.slug)
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
            if slug not in slugs_by_topic.get(reply.topic_id, ()):
                raise Refused(f"its topic '{reply.stance.topic.slug}' has no stance '{slug}'.")
            if reply.stance.slug == slug:
                raise Unchanged(f"already on '{slug}'.")
            if reply.state != Reply.State.VISIBLE:
                raise Refused(f"is {reply.state}; only visible replies change stance.")
            services.reply_stance_change(actor=request.user, reply_id=reply.pk, stance_slug=slug, reason=reason)

        self.apply_each(request, replies, act, done=f"Moved {{count}} replies to '{slug}'.")


# --- Threads, topics, votes ------------------------------------------------------------------------


@admin.register(Thread)
class ThreadAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["title", "topic", "author", "reply_count", "is_locked", "is_pinned", "created_at"]
    list_filter = ["topic", "is_locked", "is_pinned"]
    list_select_related = ["topic", "author"]
    show_full_result_count = False
    search_fields = ["title", "author__username"]
    raw_id_fields = ["topic", "author"]
    actions = ["lock", "unlock", "pin", "unpin"]
    fields = [
        "topic",
        "title",
        "author",
        "opening_reply",
        "reply_count",
        "participant_count",
        "is_locked",
        "is_pinned",
        "created_at",
        "last_activity_at",
        "moderation_log",
    ]
    readonly_fields = fields

    @admin.display(description="moderation log")
    def moderation_log(self, obj):
        return _moderation_history("thread", obj.pk)

    def _switch(self, request, queryset, *, field: str, value: bool, state: str, call):
        def act(thread):
            # The service logs the switch it is asked for; an already-switched thread would log a change
            # that did not happen.
            if getattr(thread, field) == value:
                raise Unchanged(f"already {state}.")
            call(thread)

        self.apply_each(request, list(queryset), act, done=f"{{count}} threads {state}.")

    @admin.action(description="Lock selected threads", permissions=["moderate"])
    def lock(self, request, queryset):
        def call(thread):
            services.thread_lock(actor=request.user, thread_id=thread.pk, locked=True)

        self._switch(request, queryset, field="is_locked", value=True, state="locked", call=call)

    @admin.action(description="Unlock selected threads", permissions=["moderate"])
    def unlock(self, request, queryset):
        def call(thread):
            services.thread_lock(actor=request.user, thread_id=thread.pk, locked=False)

        self._switch(request, queryset, field="is_locked", value=False, state="unlocked", call=call)

    @admin.action(description="Pin selected threads", permissions=["moderate"])
    def pin(self, request, queryset):
        def call(thread):
            services.thread_pin(actor=request.user, thread_id=thread.pk, pinned=True)

        self._switch(request, queryset, field="is_pinned", value=True, state="pinned", call=call)

    @admin.action(description="Unpin selected threads", permissions=["moderate"])
    def unpin(self, request, queryset):
        def call(thread):
            services.thread_pin(actor=request.user, thread_id=thread.pk, pinned=False)

        self._switch(request, queryset, field="is_pinned", value=False, state="unpinned", call=call)


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


class TopicAddForm(forms.ModelForm):
    """A new topic with its stances, created by discussions.services.topic_create."""

    stances = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="One stance per line, in order: slug | label. At least two.",
    )

    class Meta:
        model = Topic
        fields = ["slug", "title", "question", "description"]

    def clean_stances(self):
        parsed = []
        for number, line in enumerate(self.cleaned_data["stances"].splitlines(), start=1):
            if not line.strip():
                continue
            slug, sep, label = (part.strip() for part in line.partition("|"))
            if not sep or not slug or not label:
                raise ValidationError(f"Line {number}: write 'slug | label'.")
            forms.SlugField(max_length=50).clean(slug)
            parsed.append({"slug": slug, "label": label})
        if len(parsed) < 2:
            raise ValidationError("A debate needs at least two stances.")
        if len({s["slug"] for s in parsed}) != len(parsed):
            raise ValidationError("Stance slugs must be unique within a topic.")
        return parsed


@admin.register(Topic)
class TopicAdmin(ServiceErrorsAsMessages, DeskMixin, admin.ModelAdmin):
    list_display = ["slug", "title", "thread_count", "reply_count", "participant_count", "is_locked", "created_at"]
    list_filter = ["is_locked"]
    search_fields = ["slug", "title", "question"]
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
            return [(None, {"fields": ["slug", "title", "question", "description", "stances"]})]
        return [
            (None, {"fields": ["slug", "title", "question", "description", "is_locked"]}),
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
        if obj is None:
            kwargs["form"] = TopicAddForm
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            discussion_services.topic_update(
                actor=request.user,
                topic=obj,
                title=data["title"],
                question=data["question"],
                description=data["description"],
            )
            return
        topic = discussion_services.topic_create(
            slug=data["slug"],
            title=data["title"],
            question=data["question"],
            description=data["description"],
            stances=data["stances"],
        )
        obj.pk, obj.created_at = topic.pk, topic.created_at

    def save_related(self, request, form, formsets, change):
        if change:  # stance labels, descriptions and order; the topic's stances were created with it
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
            if topic.is_locked == locked:
                raise Unchanged(f"already {state}.")
            services.topic_lock(actor=request.user, topic_id=topic.pk, locked=locked)

        self.apply_each(request, list(queryset), act, done=f"{{count}} topics {state}.")

    @admin.action(description="Lock selected topics (no new threads or replies)", permissions=["moderate"])
    def lock(self, request, queryset):
        self._switch(request, queryset, locked=True)

    @admin.action(description="Unlock selected topics", permissions=["moderate"])
    def unlock(self, request, queryset):
        self._switch(request, queryset, locked=False)


@admin.register(Vote)
class VoteAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "user", "reply", "value", "voter_stance", "cast_at", "retracted_at"]
    list_filter = ["value"]
    list_select_related = ["user", "reply__stance", "voter_stance__topic"]
    show_full_result_count = False
    search_fields = ["user__username"]
    raw_id_fields = ["user", "reply", "voter_stance"]
    fields = ["user", "reply", "value", "voter_stance", "created_at", "cast_at", "updated_at", "retracted_at"]
    readonly_fields = fields


# --- The queue, the log, suspensions, users --------------------------------------------------------


@admin.register(Flag)
class FlagAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "reason",
        "reply_text",
        "reply_state",
        "reporter",
        "created_at",
        "state",
        "handled_by",
        "handled_at",
    ]
    list_filter = ["state", "reason"]
    list_select_related = ["reply", "reporter", "handled_by"]
    show_full_result_count = False
    search_fields = ["reply__body", "text", "reporter__username"]
    raw_id_fields = ["reply", "reporter", "handled_by"]
    actions = ["resolve", "dismiss"]
    fields = [
        "reply",
        "reply_text",
        "reply_state",
        "reporter",
        "reason",
        "text",
        "state",
        "created_at",
        "handled_by",
        "handled_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        is_open = Case(When(state=Flag.State.OPEN, then=Value(True)), default=Value(False), output_field=BooleanField())
        # ModelAdmin.get_queryset orders before we could annotate; the ordering needs the annotation.
        return Flag.objects.annotate(is_open=is_open).order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        return ["-is_open", "created_at", "id"]  # the queue: open flags first, oldest first

    @admin.display(description="reply")
    def reply_text(self, obj):
        return Truncator(obj.reply.body).chars(80)

    @admin.display(description="reply state", ordering="reply__state")
    def reply_state(self, obj):
        return obj.reply.state

    @admin.action(description="Resolve: hide the reply", permissions=["moderate"])
    def resolve(self, request, queryset):
        closed = {}  # reply id -> the flag whose resolution closed every open flag on it

        def act(flag):
            if flag.reply_id in closed:
                raise Unchanged(f"closed with flag #{closed[flag.reply_id]} on the same reply.")
            if flag.state != Flag.State.OPEN:
                raise Refused(f"is {flag.state}; only open flags can be resolved.")
            services.flag_resolve(actor=request.user, flag_id=flag.pk)
            closed[flag.reply_id] = flag.pk

        self.apply_each(request, list(queryset), act, done="Resolved {count} flags; their replies are hidden.")

    @admin.action(description="Dismiss: leave the reply as it is", permissions=["moderate"])
    def dismiss(self, request, queryset):
        def act(flag):
            if flag.state != Flag.State.OPEN:
                raise Refused(f"is {flag.state}; only open flags can be dismissed.")
            services.flag_dismiss(actor=request.user, flag_id=flag.pk)

        self.apply_each(request, list(queryset), act, done="Dismissed {count} flags.")


CSV_COLUMNS = [
    "id",
    "created_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "reason",
    "before",
    "after",
]


def _csv_cell(value):
    # Reasons and reply excerpts are user text: a leading = + - @ would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@admin.register(ModerationAction)
class ModerationActionAdmin(DeskMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "target_type", "target_id", "target_repr", "reason"]
    list_filter = ["action", "target_type", ("actor", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["actor"]
    show_full_result_count = False
    date_hierarchy = "created_at"
    search_fields = ["target_repr", "reason", "actor__username"]
    actions = ["export_csv"]
    fields = ["created_at", "actor", "action", "target_type", "target_id", "target_repr", "reason", "before", "after"]
    readonly_fields = fields

    # Append-only, for everyone: superusers hold every model permission, so these cannot rely on them.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_export",
        )
        return [export, *super().get_urls()]

    def export_view(self, request):
        """The changelist as it is filtered now, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("Unknown filter.")
        return self._csv(changelist.queryset)

    @admin.action(description="Export selected entries as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        return self._csv(queryset)

    def _csv(self, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="moderation-log-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        for entry in queryset.select_related("actor").iterator(chunk_size=2000):
            row = [
                entry.pk,
                entry.created_at.isoformat(),
                entry.actor.username,
                entry.action,
                entry.target_type,
                entry.target_id,
                entry.target_repr,
                entry.reason,
                json.dumps(entry.before) if entry.before is not None else "",
                json.dumps(entry.after) if entry.after is not None else "",
            ]
            writer.writerow([_csv_cell(value) for value in row])
        return response


class SuspensionAddForm(forms.ModelForm):
    actor = None  # set per request by SuspensionAdmin.get_form

    class Meta:
        model = Suspension
        fields = ["user", "reason", "ends_at"]

    # The service checks these too; checking here first shows them on the form instead of failing the save.
    def clean_ends_at(self):
        ends_at = self.cleaned_data.get("ends_at")
        if ends_at is not None and ends_at <= timezone.now():
            raise ValidationError("The end must be in the future.")
        return ends_at

    def clean_user(self):
        user = self.cleaned_data["user"]
        if self.actor is not None and user.pk == self.actor.pk:
            raise ValidationError("You cannot suspend yourself.")
        return user


@admin.register(Suspension)
class SuspensionAdmin(ServiceErrorsAsMessages, DeskMixin, admin.ModelAdmin):
    list_display = ["user", "reason", "starts_at", "ends_at", "lifted_at", "active"]
    list_filter = ["lifted_at"]
    list_select_related = ["user"]
    show_full_result_count = False
    search_fields = ["user__username", "reason"]
    autocomplete_fields = ["user"]
    actions = ["lift"]
    form = SuspensionAddForm
    readonly_fields = ["user", "reason", "starts_at", "ends_at", "created_by", "lifted_at", "lifted_by"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and can_moderate(request.user)

    def has_change_permission(self, request, obj=None):
        return False  # a suspension ends by being lifted, never by being edited

    def get_fields(self, request, obj=None):
        return ["user", "reason", "ends_at"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user  # a fresh class each call, so this stays with this request
        return form

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        data = form.cleaned_data
        suspension = services.user_suspend(
            actor=request.user, user=data["user"], reason=data["reason"], ends_at=data["ends_at"]
        )
        obj.pk, obj.starts_at, obj.created_by = suspension.pk, suspension.starts_at, suspension.created_by

    def save_related(self, request, form, formsets, change):
        pass  # no relations of its own; the service saved the row

    @admin.display(boolean=True, description="active")
    def active(self, obj):
        now = timezone.now()
        return obj.lifted_at is None and obj.starts_at <= now and (obj.ends_at is None or obj.ends_at > now)

    @admin.action(description="Lift: end the user's suspension now", permissions=["moderate"])
    def lift(self, request, queryset):
        lifted = {}  # user id -> the suspension whose lifting lifted every one of theirs

        def act(suspension):
            if suspension.user_id in lifted:
                raise Unchanged(f"lifted with suspension #{lifted[suspension.user_id]} of the same user.")
            if not self.active(suspension):
                raise Refused("is not in force.")
            services.user_unsuspend(actor=request.user, user=suspension.user)
            lifted[suspension.user_id] = suspension.pk

        self.apply_each(request, list(queryset), act, done="Lifted {count} suspensions.")


@admin.register(User)
class ForumUserAdmin(UserAdmin):
    list_display = [*UserAdmin.list_display, "suspended"]
    search_fields = ["username", "email", "first_name", "last_name"]  # also what the autocompletes search

    def get_queryset(self, request):
        in_force = Suspension.objects.filter(Suspension.active_q(), user=OuterRef("pk"))
        return super().get_queryset(request).annotate(is_suspended=Exists(in_force))

    @admin.display(boolean=True, description="suspended", ordering="is_suspended")
    def suspended(self, obj):
        return obj.is_suspended
