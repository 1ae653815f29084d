from django.urls import path
from rest_framework.routers import DefaultRouter

from discussions.apis import FlagApi, ReplyViewSet, ThreadViewSet, TopicViewSet

router = DefaultRouter()
router.register("topics", TopicViewSet, basename="topic")
router.register("threads", ThreadViewSet, basename="thread")
router.register("replies", ReplyViewSet, basename="reply")

urlpatterns = [
    *router.urls,
    path("replies/<int:pk>/flag/", FlagApi.as_view(), name="reply-flag"),
]
