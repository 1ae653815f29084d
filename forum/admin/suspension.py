"""Suspensions: added through forum.services.user_suspend, ended by the lift action, never edited."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from forum import services
from forum.admin.base import DeskMixin, ServiceErrorsAsMessages, Unchanged, label
from forum.errors import Conflict
from forum.models import Suspension
from forum.permissions import can_moderate
from forum.selectors import suspension_in_force


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
            if self.active(suspension) and suspension.user_id in lifted:
                earlier = lifted[suspension.user_id]
                raise Unchanged(f"{label(suspension)} was lifted with suspension #{earlier} of the same user.")
            if not self.active(suspension):
                # The service lifts whatever of the user's is in force; a row that is not must not lift a
                # later one. With nothing in force the service refuses on its own.
                current = suspension_in_force(suspension.user)
                if current is not None:
                    raise Conflict(
                        f"{label(suspension)} is not in force; {suspension.user}'s suspension #{current.pk} is."
                    )
            services.user_unsuspend(actor=request.user, user=suspension.user)
            lifted[suspension.user_id] = suspension.pk

        self.apply_each(request, list(queryset), act, done="Lifted {count} suspensions.")
