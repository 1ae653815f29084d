"""Permissions the forum adds to every API view through DEFAULT_PERMISSION_CLASSES."""

from django.utils import formats
from rest_framework import permissions

from discussions.permissions import can_moderate
from forum.services import user_is_suspended


class NotSuspended(permissions.BasePermission):
    """A suspended user keeps reading but every write answers 403 saying until when and why."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS or not request.user.is_authenticated:
            return True
        suspension = user_is_suspended(request.user)
        if suspension is None:
            return True
        until = formats.date_format(suspension.ends_at, "DATETIME_FORMAT") if suspension.ends_at else "lifted"
        self.message = f"Your account is suspended until {until}: {suspension.reason}"
        return False


class IsModerator(permissions.BasePermission):
    message = "Only moderators may see this."

    def has_permission(self, request, view):
        return can_moderate(request.user)
