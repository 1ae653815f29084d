from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.views import HealthApi, api_not_found

urlpatterns = [
    # Flags moved from forum to discussions; moderators' bookmarks of the old pages still land.
    re_path(
        r"^admin/forum/flag/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/discussions/flag/%(rest)s", permanent=True, query_string=True),
    ),
    path("admin/", admin.site.urls),
    path("api/", include("discussions.urls")),
    path("api/", include("forum.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/health/", HealthApi.as_view(), name="health"),
    path("", include("discussions.embed_urls")),
    path("api-auth/", include("rest_framework.urls", namespace="rest_framework")),
    # Last: any other /api/ path is a JSON 404 even with DEBUG on, where Django would ignore
    # handler404 and draw its HTML debug page.
    re_path(r"^api/", api_not_found),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
