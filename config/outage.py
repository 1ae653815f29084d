"""A lost database is a JSON 503 under /api/, never an HTML 500."""

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

# OperationalError covers a failed connect (and a database too busy to answer); InterfaceError a
# connection that went away. Both mean "try again", not a bug in the request.
UNAVAILABLE = (OperationalError, InterfaceError)


def database_unavailable_response():
    response = JsonResponse({"detail": "The database is unavailable; try again shortly."}, status=503)
    response["Retry-After"] = "30"
    return response
