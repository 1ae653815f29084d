from django.urls import path

from forum.apis import FlagApi, MeApi, ModerationLogApi, RegisterApi, TokenApi

urlpatterns = [
    path("auth/register/", RegisterApi.as_view(), name="register"),
    path("auth/token/", TokenApi.as_view(), name="token"),
    path("me/", MeApi.as_view(), name="me"),
    path("replies/<int:pk>/flag/", FlagApi.as_view(), name="reply-flag"),
    path("moderation/log/", ModerationLogApi.as_view(), name="moderation-log"),
]
