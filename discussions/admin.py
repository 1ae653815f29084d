"""A first admin for the debate; writes that move counters stay with the services (moderation desk: later)."""

from django.contrib import admin

from discussions.models import Reply, ReplyRevision, Stance, Thread, Topic, Vote


class _NoDelete:
    # Nothing a user wrote is erased: withdrawal and moderation change state instead.
    def has_delete_permission(self, request, obj=None):
        return False


class StanceInline(admin.TabularInline):
    model = Stance
    extra = 0
    fields = ["position", "slug", "label", "description"]
    ordering = ["position", "id"]

    def has_delete_permission(self, request, obj=None):
        return False  # replies point at their stance


@admin.register(Topic)
class TopicAdmin(_NoDelete, admin.ModelAdmin):
    list_display = ["slug", "title", "thread_count", "reply_count", "is_locked", "created_at"]
    list_filter = ["is_locked"]
    search_fields = ["slug", "title", "question"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["thread_count", "reply_count", "created_at", "updated_at"]
    inlines = [StanceInline]


@admin.register(Thread)
class ThreadAdmin(_NoDelete, admin.ModelAdmin):
    list_display = ["title", "topic", "author", "reply_count", "is_locked", "is_pinned", "created_at"]
    list_filter = ["topic", "is_locked", "is_pinned"]
    list_select_related = ["topic", "author"]
    search_fields = ["title", "author__username"]
    fields = ["topic", "title", "author", "opening_reply", "reply_count", "is_locked", "is_pinned", "created_at"]
    readonly_fields = ["topic", "author", "opening_reply", "reply_count", "created_at"]


class ReplyRevisionInline(admin.TabularInline):
    model = ReplyRevision
    extra = 0
    fields = ["created_at", "edited_by", "stance", "body"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Reply)
class ReplyAdmin(_NoDelete, admin.ModelAdmin):
    list_display = ["id", "stance", "author", "thread", "score", "state", "created_at"]
    list_filter = ["state", "topic", "stance__slug"]
    list_select_related = ["stance", "stance__topic", "author", "thread"]
    search_fields = ["body", "author__username"]
    inlines = [ReplyRevisionInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Vote)
class VoteAdmin(_NoDelete, admin.ModelAdmin):
    list_display = ["id", "user", "reply_id", "value", "retracted_at", "created_at"]
    list_select_related = ["user"]
    list_filter = ["value"]
    raw_id_fields = ["user", "reply"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False
