from rest_framework.routers import DefaultRouter

from discussions.apis import ReplyViewSet, ThreadViewSet, TopicViewSet

router = DefaultRouter()
router.register("topics", TopicViewSet, basename="topic")
router.register("threads", ThreadViewSet, basename="thread")
router.register("replies", ReplyViewSet, basename="reply")

urlpatterns = router.urls
