from django.urls import path

from forum.apis import LogoutApi, MeApi, ModerationLogApi, RegisterApi, TokenApi

urlpatterns = [
    path("auth/register/", RegisterApi.as_view(), name="register"),
    path("auth/token/", TokenApi.as_view(), name="token"),
    path("auth/logout/", LogoutApi.as_view(), name="logout"),
    path("me/", MeApi.as_view(), name="me"),
    path("moderation/log/", ModerationLogApi.as_view(), name="moderation-log"),
]
