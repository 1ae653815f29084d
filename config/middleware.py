"""JSON errors under /api/ whatever DEBUG says.

With DEBUG on Django answers a SuspiciousOperation (a body over the upload limit among them), an
unknown URL and an uncaught exception with its HTML debug pages, ignoring handler400/404/500; a client
of the API (`make run` serves with DEBUG on) must get JSON all the same. With DEBUG off the handlers in
config/views.py already answer JSON; this middleware adds the 413 and is the net for the rest.
"""

import logging
import sys

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.http import JsonResponse
from rest_framework.response import Response as DrfResponse

from config.outage import UNAVAILABLE, database_unavailable_response
from config.views import ERROR_DETAILS, body_too_large_response, is_api


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads such a body as empty


@receiver(got_request_exception, dispatch_uid="config.middleware.remember_uncaught")
def _remember_uncaught(sender, request=None, **kwargs):
    # Sent by Django for an uncaught exception, inside its except block: the net below can then tell a
    # lost database (503) from any other 500 even where Django drew its debug page.
    if request is not None:
        request._uncaught_exception = sys.exc_info()[1]


class ApiErrorsMiddleware:
    """Three things, for /api/ paths only:

    - a body whose Content-Length is over DATA_UPLOAD_MAX_MEMORY_SIZE is refused with a 413 before
      anything (authentication, a parser) reads it;
    - a view's RequestDataTooBig (the same limit, met while parsing) is that 413 too, and any other
      SuspiciousOperation or BadRequest a JSON 400, where DEBUG would draw its HTML page;
    - any HTML error page still coming back from below (Django's debug page for a 500, or for an
      exception raised in another middleware) is replaced by the JSON the DEBUG-off handler sends.

    The browsable API's pages are DRF responses a browser asked for; they stay as they are.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api(request):
            return self.get_response(request)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _declared_length(request) > limit:
            return body_too_large_response()  # django.request logs it as any 4xx
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and not isinstance(response, DrfResponse)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            if isinstance(getattr(request, "_uncaught_exception", None), UNAVAILABLE):
                return database_unavailable_response(request._uncaught_exception)
            return JsonResponse(
                {"detail": ERROR_DETAILS.get(response.status_code, response.reason_phrase)},
                status=response.status_code,
            )
        return response

    def process_exception(self, request, exception):
        if not is_api(request) or not isinstance(exception, (SuspiciousOperation, BadRequest)):
            return None  # Django's own handling: logged, then handler500 (or the debug page, replaced above)
        # Logged where Django would have logged it: django.security.<name> (a BadRequest only as a 400).
        if isinstance(exception, SuspiciousOperation):
            security = logging.getLogger(f"django.security.{type(exception).__name__}")
            security.error(str(exception), exc_info=exception, extra={"status_code": 400, "request": request})
        if isinstance(exception, RequestDataTooBig):
            return body_too_large_response()
        return JsonResponse({"detail": ERROR_DETAILS[400]}, status=400)
