from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.views import HealthApi

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("discussions.urls")),
    path("api/", include("forum.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/health/", HealthApi.as_view(), name="health"),
    path("api-auth/", include("rest_framework.urls", namespace="rest_framework")),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
