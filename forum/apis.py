"""Accounts (register, token, logout, me) and the moderation log."""

from django.contrib.auth import logout
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.openapi import errors
from forum import selectors, services
from forum.filters import ModerationActionFilter
from forum.permissions import IsModerator, can_moderate
from forum.serializers import (
    MeSerializer,
    ModerationActionSerializer,
    RegisteredSerializer,
    RegisterInputSerializer,
    TokenInputSerializer,
    TokenSerializer,
)


class RegisterApi(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(request=RegisterInputSerializer, responses={201: RegisteredSerializer, **errors(400, 415, 429)})
    def post(self, request):
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(RegisteredSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=TokenInputSerializer, responses={200: TokenSerializer, **errors(400, 415, 429)})
    def post(self, request):
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = services.token_obtain(**serializer.validated_data)
        return Response(TokenSerializer(token).data)


class LogoutApi(APIView):
    """Delete the caller's API token (and end a browser session); a new one comes from auth/token/."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={204: None, **errors(401, 403)})
    def post(self, request):
        services.token_revoke(user=request.user)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: MeSerializer, **errors(401)})
    def get(self, request):
        user = request.user
        data = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "is_moderator": can_moderate(user),
            "is_staff": user.is_staff,
            "date_joined": user.date_joined,
        }
        return Response(MeSerializer(data).data)


@extend_schema_view(get=extend_schema(responses={200: ModerationActionSerializer, **errors(400, 401, 403, 404)}))
class ModerationLogApi(generics.ListAPIView):
    """Every moderation act, newest first (moderators only)."""

    serializer_class = ModerationActionSerializer
    permission_classes = [permissions.IsAuthenticated, IsModerator]
    filterset_class = ModerationActionFilter

    def get_queryset(self):
        return selectors.moderation_log_list()
