"""The moderation log: read-only for everyone, filterable, exported as CSV."""

import csv
import json

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import path
from django.utils import timezone

from forum.admin.base import DeskMixin
from forum.models import ModerationAction

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
