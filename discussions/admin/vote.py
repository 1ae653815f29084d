"""Votes: shown read-only; votes change only through the API's vote services."""

from django.contrib import admin

from discussions.models import Vote
from forum.admin.base import ReadOnlyMixin


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
