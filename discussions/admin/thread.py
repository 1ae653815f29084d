"""Threads: lock, unlock, pin and unpin through discussions.services."""

from django.contrib import admin

from discussions import services
from discussions.models import Thread
from forum.admin.base import ReadOnlyMixin, Unchanged, label, moderation_history


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
        return moderation_history("thread", obj.pk)

    def _switch(self, request, queryset, *, field: str, value: bool, state: str):
        def act(thread):
            # The service returns quietly for a thread already so; the desk says so instead of counting it.
            if getattr(thread, field) == value:
                raise Unchanged(f"{label(thread)} is already {state}.")
            if field == "is_locked":
                services.thread_lock(actor=request.user, thread_id=thread.pk, locked=value)
            else:
                services.thread_pin(actor=request.user, thread_id=thread.pk, pinned=value)

        self.apply_each(request, list(queryset), act, done=f"{{count}} threads {state}.")

    @admin.action(description="Lock selected threads", permissions=["moderate"])
    def lock(self, request, queryset):
        self._switch(request, queryset, field="is_locked", value=True, state="locked")

    @admin.action(description="Unlock selected threads", permissions=["moderate"])
    def unlock(self, request, queryset):
        self._switch(request, queryset, field="is_locked", value=False, state="unlocked")

    @admin.action(description="Pin selected threads", permissions=["moderate"])
    def pin(self, request, queryset):
        self._switch(request, queryset, field="is_pinned", value=True, state="pinned")

    @admin.action(description="Unpin selected threads", permissions=["moderate"])
    def unpin(self, request, queryset):
        self._switch(request, queryset, field="is_pinned", value=False, state="unpinned")
