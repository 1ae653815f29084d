"""The sites allowed to embed the debate: added, changed and removed through discussions.services."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from discussions import services
from discussions.embedding import origin_clean
from discussions.models import EmbedOrigin
from forum.admin.base import ServiceErrorsAsMessages
from forum.errors import DomainError, Invalid


class EmbedOriginForm(forms.ModelForm):
    class Meta:
        model = EmbedOrigin
        fields = ["origin", "note"]

    def clean_origin(self):
        try:
            return origin_clean(self.cleaned_data["origin"])
        except Invalid as exc:
            raise ValidationError(exc.errors["origin"]) from None


@admin.register(EmbedOrigin)
class EmbedOriginAdmin(ServiceErrorsAsMessages, admin.ModelAdmin):
    form = EmbedOriginForm
    list_display = ["origin", "note", "created_at"]
    search_fields = ["origin", "note"]

    def changelist_view(self, request, extra_context=None):
        # Said where the operator looks: the setting's origins are allowed too, and this list does not hold them.
        if settings.EMBED_ALLOWED_ORIGINS:
            self.message_user(
                request, f"Also allowed by EMBED_ALLOWED_ORIGINS: {', '.join(settings.EMBED_ALLOWED_ORIGINS)}."
            )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.embed_origin_update(actor=request.user, origin_id=obj.pk, origin=data["origin"], note=data["note"])
            return
        row = services.embed_origin_add(actor=request.user, origin=data["origin"], note=data["note"])
        obj.pk, obj.created_at = row.pk, row.created_at

    def delete_view(self, request, object_id, extra_context=None):
        # As changeform_view (ServiceErrorsAsMessages): the service's durable transaction must not nest.
        try:
            return self._delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_model(self, request, obj):
        services.embed_origin_remove(actor=request.user, origin_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for row in list(queryset):
            services.embed_origin_remove(actor=request.user, origin_id=row.pk)
