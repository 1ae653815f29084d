"""Thin glue for a reader's own notifications and the threads they follow: every endpoint needs a token."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from config.openapi import errors
from discussions import selectors, services
from discussions.serializers import (
    NotificationQuerySerializer,
    NotificationSerializer,
    NotificationsReadInputSerializer,
    SubscriptionInputSerializer,
    SubscriptionSerializer,
    UnreadCountSerializer,
)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema(
    parameters=[NotificationQuerySerializer],
    responses={200: NotificationSerializer, **errors(400, 401, 404)},
)
class NotificationListApi(generics.ListAPIView):
    """The caller's notifications, newest first; `unread=true` for the unread ones only (then `count` is known)."""

    serializer_class = NotificationSerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends = []  # `unread` is the one filter, validated below

    def get_queryset(self):
        self.unread_only = _valid(NotificationQuerySerializer, self.request.query_params)["unread"]
        return selectors.notification_list(user=self.request.user, unread_only=self.unread_only)

    def known_count(self) -> int:
        """The inbox's maintained counters: unread, or every notification."""
        unread, total = selectors.notification_counts(user=self.request.user)
        return unread if self.unread_only else total


class UnreadCountApi(APIView):
    """How many of the caller's notifications are unread (a maintained counter, not a count)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: UnreadCountSerializer, **errors(401)})
    def get(self, request):
        unread, _ = selectors.notification_counts(user=request.user)
        return Response(UnreadCountSerializer({"count": unread}).data)


class NotificationsReadApi(APIView):
    """Mark the caller's notifications read, by `ids` or `all`; answers how many stay unread."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=NotificationsReadInputSerializer, responses={200: UnreadCountSerializer, **errors(400, 401)})
    def post(self, request):
        data = _valid(NotificationsReadInputSerializer, request.data)
        left = services.notifications_read(actor=request.user, ids=data.get("ids"), everything=data.get("all", False))
        return Response(UnreadCountSerializer({"count": left}).data)


class ThreadSubscriptionApi(APIView):
    """How closely the caller follows a thread: `watching`, `normal` (without a choice) or `muted`."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: SubscriptionSerializer, **errors(401, 404)})
    def get(self, request, pk: int):
        level = selectors.subscription_level(user=request.user, thread_id=pk)
        return Response(SubscriptionSerializer({"thread": pk, "level": level}).data)

    @extend_schema(
        request=SubscriptionInputSerializer, responses={200: SubscriptionSerializer, **errors(400, 401, 404)}
    )
    def put(self, request, pk: int):
        level = _valid(SubscriptionInputSerializer, request.data)["level"]
        subscription = services.subscription_set(actor=request.user, thread_id=pk, level=level)
        return Response(SubscriptionSerializer({"thread": pk, "level": subscription.level}).data)
