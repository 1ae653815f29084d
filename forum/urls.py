from django.urls import path

from forum.apis import MeApi, RegisterApi, TokenApi

urlpatterns = [
    path("auth/register/", RegisterApi.as_view(), name="register"),
    path("auth/token/", TokenApi.as_view(), name="token"),
    path("me/", MeApi.as_view(), name="me"),
]
