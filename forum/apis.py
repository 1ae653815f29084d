"""Accounts (register, log in and out, password, tokens, me) and the moderation log."""

from django.contrib.auth import logout, update_session_auth_hash
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.openapi import errors
from forum import selectors, services
from forum.filters import ModerationActionFilter
from forum.models import ApiToken
from forum.permissions import IsModerator, can_moderate
from forum.serializers import (
    ApiTokenSerializer,
    MeSerializer,
    ModerationActionSerializer,
    PasswordChangeInputSerializer,
    RegisteredSerializer,
    RegisterInputSerializer,
    StreamTicketSerializer,
    TokenInputSerializer,
    TokenSerializer,
)
from forum.tickets import stream_ticket_issue


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
    """Log in: a new token for this client (one per device), expiring after TOKEN_TTL_DAYS."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=TokenInputSerializer, responses={200: TokenSerializer, **errors(400, 415, 429)})
    def post(self, request):
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = services.token_obtain(**serializer.validated_data, request=request._request)
        return Response(TokenSerializer({"token": key, "expires_at": token.expiry}).data)


class LogoutApi(APIView):
    """End the caller's token (other devices stay logged in) and any browser session."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={204: None, **errors(401, 403)})
    def post(self, request):
        if isinstance(request.auth, ApiToken):  # a browser session has no token to end
            services.token_revoke(user=request.user, token_id=request.auth.pk)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordApi(APIView):
    """Change the password: every earlier token of the user stops working, and a fresh one is answered."""

    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=PasswordChangeInputSerializer, responses={200: TokenSerializer, **errors(400, 401, 415, 429)}
    )
    def post(self, request):
        serializer = PasswordChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = services.password_change(user=request.user, **serializer.validated_data)
        update_session_auth_hash(request._request, request.user)  # a browser session stays signed in
        return Response(TokenSerializer({"token": key, "expires_at": token.expiry}).data)


@extend_schema_view(get=extend_schema(responses={200: ApiTokenSerializer(many=True), **errors(401)}))
class TokenListApi(APIView):
    """The caller's tokens that still work, newest first; `current` marks the one this request used."""

    permission_classes = [permissions.IsAuthenticated]

    def get(self, request):
        current = request.auth.pk if isinstance(request.auth, ApiToken) else None
        tokens = selectors.token_list(request.user)
        return Response(ApiTokenSerializer(tokens, many=True, context={"current": current}).data)


class TokenDetailApi(APIView):
    """Revoke one of the caller's tokens (a lost phone, an old script); others' tokens are not found."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={204: None, **errors(401, 404)})
    def delete(self, request, pk: int):
        services.token_revoke(user=request.user, token_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StreamTicketApi(APIView):
    """A one-minute ticket standing in for the caller's token on GET /api/me/events/?ticket=…"""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={201: StreamTicketSerializer, **errors(401)})
    def post(self, request):
        token = request.auth if isinstance(request.auth, ApiToken) else None
        ticket, expires_at = stream_ticket_issue(user=request.user, token=token)
        return Response(
            StreamTicketSerializer({"ticket": ticket, "expires_at": expires_at}).data, status=status.HTTP_201_CREATED
        )


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
