"""A lost database is a 503 (JSON under /api/, plain text elsewhere), never a 500; each is logged with its cause."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

log = logging.getLogger(__name__)
RETRY_AFTER = "30"
MESSAGE = "The database is unavailable; try again shortly."

# OperationalError covers a failed connect (and a database too busy to answer); InterfaceError a
# connection that went away. Both mean "try again", not a bug in the request.
UNAVAILABLE = (OperationalError, InterfaceError)


def database_unavailable_response(cause: BaseException | None = None, *, api: bool = True):
    """The 503 for a database that did not answer; `cause` goes to the log, so "down" and "too many
    clients" (PostgreSQL's own message) can be told apart there."""
    log.warning("503: the database is unavailable (%s: %s)", type(cause).__name__ if cause else "unknown", cause)
    if api:
        response = JsonResponse({"detail": MESSAGE}, status=503)
    else:
        response = HttpResponse(MESSAGE, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = RETRY_AFTER
    return response
