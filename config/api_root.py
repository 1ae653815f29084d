"""GET /api/: every endpoint of the API, so the browsable API is a map a client developer can click through."""

from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# Endpoints without parameters, by URL name: answered as links.
LINKS = {
    "topics": "topic-list",
    "threads": "thread-list",
    "replies": "reply-list",
    "auth/register": "register",
    "auth/token": "token",
    "auth/logout": "logout",
    "auth/password": "password",
    "auth/tokens": "token-list",
    "auth/stream-ticket": "stream-ticket",
    "me": "me",
    "me/events": "me-events",
    "notifications": "notification-list",
    "notifications/unread-count": "notification-unread-count",
    "notifications/read": "notifications-read",
    "moderation/log": "moderation-log",
    "health": "health",
    "schema": "schema",
    "docs": "docs",
}
# Endpoints of one object: answered as URI templates (RFC 6570) under /api/.
TEMPLATES = {
    "topic": "topics/{slug}/",
    "topic summary": "topics/{slug}/summary/",
    "topic summary history": "topics/{slug}/summary/history/",
    "topic common ground": "topics/{slug}/common-ground/",
    "topic position": "topics/{slug}/position/",
    "topic events": "topics/{slug}/events/{?since}",
    "topic badge": "topics/{slug}/badge.svg",
    "embed": "embed/{?url}",
    "oembed": "oembed/{?url,maxwidth,maxheight,format}",
    "thread": "threads/{id}/",
    "thread summary": "threads/{id}/summary/",
    "thread subscription": "threads/{id}/subscription/",
    "reply": "replies/{id}/",
    "reply vote": "replies/{id}/vote/",
    "reply flag": "replies/{id}/flag/",
    "token": "auth/tokens/{id}/",
    "user": "users/{username}/",
    "search": "search/{?q,topic,stance,thread,author}",
}


class ApiRootView(APIView):
    """The API's endpoints: lists as links, single objects as URI templates."""

    permission_classes = [permissions.AllowAny]
    schema = None  # not an operation a client calls

    def get(self, request, format=None):
        answer = {name: reverse(url_name, request=request, format=format) for name, url_name in LINKS.items()}
        base = reverse("api-root", request=request)
        answer |= {name: f"{base}{template}" for name, template in TEMPLATES.items()}
        return Response(answer)
