"""The moderation desk's shared base: each action calls a service and shows its refusal as a message.

Every moderating service writes its own ModerationAction row in its own transaction; nothing here writes a
moderated field itself. The debate's admin (discussions.admin) builds on this module.
"""

import re

from django.contrib import messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from forum.errors import DomainError, Invalid
from forum.permissions import can_moderate
from forum.selectors import moderation_log_of

# Under forum/templates, and shared by discussions' admin: nothing in it is about one app.
ACTION_FORM_TEMPLATE = "admin/forum/moderation_action_form.html"


class Unchanged(Exception):
    """Already as the action asks: the service would silently do nothing, so the desk warns instead."""


def label(obj) -> str:
    """How the desk names a row in a message: "Reply #5"."""
    return f"{capfirst(obj._meta.verbose_name)} #{obj.pk}"


def _sentence(exc: DomainError) -> str:
    if isinstance(exc, Invalid):
        # The action's own form has checked its fields; what the service refuses is about this row, so the
        # field names ("stance: ...") would only clutter the sentence.
        return " ".join(message for field_messages in exc.errors.values() for message in field_messages)
    return exc.message or exc.__class__.__name__


def about(obj, text: str) -> str:
    """The text, led by the row's label unless it already names the row (services' sentences mostly do)."""
    # (?!\d): "Reply #5" must not count as naming reply #50.
    if re.search(rf"\b{re.escape(label(obj))}(?!\d)", text, flags=re.IGNORECASE):
        return text
    return f"{label(obj)}: {text}"


def moderation_history(target_type: str, target_id: int):
    """What moderators did to one row, oldest first, as a list for a read-only field."""
    rows = moderation_log_of(target_type=target_type, target_id=target_id)
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
        """Run `act` on each object (each service call is its own transaction); report each refusal."""
        count = 0
        for obj in objects:
            try:
                act(obj)
            except Unchanged as exc:
                self.message_user(request, about(obj, str(exc)), level=messages.WARNING)
            # Every refusal of a service, rights included (NotAllowed): a message for that row, never a 500,
            # and the other rows still go ahead.
            except DomainError as exc:
                self.message_user(request, about(obj, _sentence(exc)), level=messages.ERROR)
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
    """The save is a service call; its refusal (say, a race the form could not foresee) reads as a message."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # ModelAdmin.changeform_view runs a POST inside transaction.atomic, and a service's durable transaction
        # refuses to nest in another: the service is the transaction, so the view runs unwrapped. A refusal
        # comes before anything else is written (save_related and the admin's LogEntry follow the save).
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
