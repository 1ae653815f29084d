"""Failed logins, counted in the database by django-axes: per username and address, and per address.

An attack on a username from one address locks that pair only, so the owner still logs in from another
address; an address trying many usernames is locked across all of them, at a higher limit. The counts
live in the database, shared by every worker with or without Redis.
"""

import datetime

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpResponse, JsonResponse

# The order of AXES_LOCKOUT_PARAMETERS in the settings: the (username, address) pair, then the address.
PAIR, ADDRESS = 0, 1


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for the address across usernames."""

    def get_failures(self, request, credentials=None) -> int:
        counts = [
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        ]
        # Axes compares one number with one limit (the pair's): the address's count is scaled to it.
        scaled = counts[ADDRESS] * settings.LOGIN_FAILURE_LIMIT // settings.LOGIN_ADDRESS_FAILURE_LIMIT
        return max(counts[PAIR], scaled)


def failure_limit(request, credentials) -> int:
    """The (username, address) limit, read when it is needed (operators and tests change the setting)."""
    return settings.LOGIN_FAILURE_LIMIT


def cool_off(request=None):
    """How long a lockout lasts: LOGIN_FAILURE_WINDOW seconds after the last counted failure."""
    return datetime.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)


def username_of(request, credentials) -> str | None:
    """Usernames are counted case-blind: ALICE and alice are one target."""
    username = (credentials or {}).get("username")
    return username.lower() if isinstance(username, str) else username


def lockout_response(request, original_response=None, credentials=None):
    """A JSON 429 with Retry-After under /api/, a plain-text 429 elsewhere (the admin's login)."""
    wait = settings.LOGIN_FAILURE_WINDOW
    message = f"Too many failed logins from this address; try again in {wait // 60} minutes."
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    return response
