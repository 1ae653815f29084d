from django.urls import path

from forum.apis import (
    LogoutApi,
    MeApi,
    ModerationLogApi,
    PasswordApi,
    RegisterApi,
    StreamTicketApi,
    TokenApi,
    TokenDetailApi,
    TokenListApi,
)

urlpatterns = [
    path("auth/register/", RegisterApi.as_view(), name="register"),
    path("auth/token/", TokenApi.as_view(), name="token"),
    path("auth/logout/", LogoutApi.as_view(), name="logout"),
    path("auth/password/", PasswordApi.as_view(), name="password"),
    path("auth/tokens/", TokenListApi.as_view(), name="token-list"),
    path("auth/tokens/<int:pk>/", TokenDetailApi.as_view(), name="token-detail"),
    path("auth/stream-ticket/", StreamTicketApi.as_view(), name="stream-ticket"),
    path("me/", MeApi.as_view(), name="me"),
    path("moderation/log/", ModerationLogApi.as_view(), name="moderation-log"),
]
