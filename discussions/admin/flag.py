"""Flags, the moderators' queue: resolve (hide the reply) or dismiss, through discussions.services."""

from django.contrib import admin
from django.db.models import BooleanField, Case, Value, When
from django.utils.text import Truncator

from discussions import services
from discussions.models import Flag
from forum.admin.base import ReadOnlyMixin, Unchanged, label


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
            # Open when selected, closed since by the resolution of an earlier flag on its reply: not a refusal.
            if flag.state == Flag.State.OPEN and flag.reply_id in closed:
                raise Unchanged(f"{label(flag)} was closed with flag #{closed[flag.reply_id]} on the same reply.")
            services.flag_resolve(actor=request.user, flag_id=flag.pk)
            closed[flag.reply_id] = flag.pk

        self.apply_each(request, list(queryset), act, done="Resolved {count} flags; their replies are hidden.")

    @admin.action(description="Dismiss: leave the reply as it is", permissions=["moderate"])
    def dismiss(self, request, queryset):
        def act(flag):
            services.flag_dismiss(actor=request.user, flag_id=flag.pk)

        self.apply_each(request, list(queryset), act, done="Dismissed {count} flags.")
