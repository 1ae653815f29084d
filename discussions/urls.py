from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from config.api_root import ApiRootView
from discussions.apis import FlagApi, ProfileApi, ReplyViewSet, SearchApi, ThreadViewSet, TopicViewSet
from discussions.apis_notifications import (
    NotificationListApi,
    NotificationsReadApi,
    ThreadSubscriptionApi,
    UnreadCountApi,
)

# The API root lists forum's endpoints too, so it is the project's view rather than the router's own.
router = DefaultRouter()
router.include_root_view = False
router.register("topics", TopicViewSet, basename="topic")
router.register("threads", ThreadViewSet, basename="thread")
router.register("replies", ReplyViewSet, basename="reply")

urlpatterns = [
    path("", ApiRootView.as_view(), name="api-root"),
    *router.urls,
    path("replies/<int:pk>/flag/", FlagApi.as_view(), name="reply-flag"),
    path("search/", SearchApi.as_view(), name="search"),
    path("threads/<int:pk>/subscription/", ThreadSubscriptionApi.as_view(), name="thread-subscription"),
    path("notifications/", NotificationListApi.as_view(), name="notification-list"),
    path("notifications/unread-count/", UnreadCountApi.as_view(), name="notification-unread-count"),
    path("notifications/read/", NotificationsReadApi.as_view(), name="notifications-read"),
    # The characters Django's username validator allows; anything else (a NUL, a slash) is a plain 404.
    re_path(r"^users/(?P<username>[\w.@+-]{1,150})/$", ProfileApi.as_view(), name="user-profile"),
]
