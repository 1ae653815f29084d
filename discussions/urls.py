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
from discussions.embed_apis import BadgeApi, EmbedApi, OEmbedApi
from discussions.live.views import me_events, topic_events

# The API root lists forum's endpoints too, so it is the project's view rather than the router's own.
router = DefaultRouter()
router.include_root_view = False
router.register("topics", TopicViewSet, basename="topic")
router.register("threads", ThreadViewSet, basename="thread")
router.register("replies", ReplyViewSet, basename="reply")

urlpatterns = [
    path("", ApiRootView.as_view(), name="api-root"),
    # Before the router, whose topic routes would take `events` for a slug's action.
    re_path(r"^topics/(?P<slug>[-a-zA-Z0-9_]+)/events/$", topic_events, name="topic-events"),
    path("me/events/", me_events, name="me-events"),
    *router.urls,
    path("replies/<int:pk>/flag/", FlagApi.as_view(), name="reply-flag"),
    path("search/", SearchApi.as_view(), name="search"),
    path("embed/", EmbedApi.as_view(), name="embed"),
    path("oembed/", OEmbedApi.as_view(), name="oembed"),
    re_path(r"^topics/(?P<slug>[-a-zA-Z0-9_]+)/badge\.svg$", BadgeApi.as_view(), name="topic-badge"),
    path("threads/<int:pk>/subscription/", ThreadSubscriptionApi.as_view(), name="thread-subscription"),
    path("notifications/", NotificationListApi.as_view(), name="notification-list"),
    path("notifications/unread-count/", UnreadCountApi.as_view(), name="notification-unread-count"),
    path("notifications/read/", NotificationsReadApi.as_view(), name="notifications-read"),
    # The characters Django's username validator allows; anything else (a NUL, a slash) is a plain 404.
    re_path(r"^users/(?P<username>[\w.@+-]{1,150})/$", ProfileApi.as_view(), name="user-profile"),
]
