"""Error pages (JSON under /api/, Django's usual pages elsewhere) and the health check."""

import sys

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from config.outage import UNAVAILABLE, database_unavailable_response

# The `detail` of each error page under /api/ (config.middleware answers the same with DEBUG on).
ERROR_DETAILS = {
    400: "Bad request.",
    403: "Permission denied.",
    404: "Not found.",
    500: "Internal server error.",
}


def is_api(request):
    return request.path.startswith("/api/")


def body_too_large_response():
    """413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE, naming the limit."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return JsonResponse(
        {"detail": f"Request body too large: the limit is {limit} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)."},
        status=413,
    )


def bad_request(request, exception=None):
    if is_api(request):
        if isinstance(exception, RequestDataTooBig):  # read by something other than a view (DEBUG off)
            return body_too_large_response()
        return JsonResponse({"detail": ERROR_DETAILS[400]}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if is_api(request):
        return JsonResponse({"detail": str(exception) or ERROR_DETAILS[403]}, status=403)
    return defaults.permission_denied(request, exception)


def not_found(request, exception=None):
    if is_api(request):
        return JsonResponse({"detail": ERROR_DETAILS[404]}, status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # it reads and writes nothing; without this an unknown path's POST gets the HTML CSRF page
def api_not_found(request):
    # As APPEND_SLASH would: a known endpoint asked for without its slash is redirected to it (the
    # catch-all itself matching the slashed path must not count as known).
    if request.method in ("GET", "HEAD") and not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request):
    if is_api(request):
        # Also reached when middleware (a session lookup, say) lost the database before any view ran.
        if isinstance(sys.exc_info()[1], UNAVAILABLE):
            return database_unavailable_response(sys.exc_info()[1])
        return JsonResponse({"detail": ERROR_DETAILS[500]}, status=500)
    if isinstance(sys.exc_info()[1], UNAVAILABLE):  # the admin, say: a plain 503 page, not an error page
        return database_unavailable_response(sys.exc_info()[1], api=False)
    return defaults.server_error(request)


class HealthApi(APIView):
    """Is the service able to work: the database answers (and the shared cache, when configured)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        responses={
            (200, "application/json"): inline_serializer(
                "Health",
                {
                    "status": serializers.CharField(help_text="ok, or degraded while the shared cache is down"),
                    "database": serializers.CharField(),
                    "cache": serializers.CharField(help_text="ok, degraded (Redis down) or local (none set)"),
                },
            ),
            (503, "application/json"): inline_serializer("Unhealthy", {"status": serializers.CharField()}),
        }
    )
    def get(self, request):
        checks = {"database": "ok", "cache": "ok" if _uses_shared_cache() else "local"}
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except UNAVAILABLE:
            checks["database"] = "unavailable"
        if checks["cache"] == "ok" and not _cache_reachable():
            # Still serving: throttles and summaries fall back to each process's memory (config/cache.py).
            checks["cache"] = "degraded"
        healthy = "unavailable" not in checks.values()
        status = "unavailable" if not healthy else "degraded" if "degraded" in checks.values() else "ok"
        response = JsonResponse({"status": status, **checks}, status=200 if healthy else 503)
        if not healthy:
            response["Retry-After"] = "30"
        return response


def _cache_reachable() -> bool:
    reachable = getattr(cache, "reachable", None)
    if reachable is not None:
        return reachable()
    try:  # a plain django-redis cache
        cache.set("health-check", "1", 5)
    except Exception:  # redis-py raises its own connection errors; any failure means down
        return False
    return True


def _uses_shared_cache() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()
