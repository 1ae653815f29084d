"""Stream tickets: short-lived signed stand-ins for a token, for clients that cannot send headers.

A browser's EventSource cannot set `Authorization`, and a token in a URL would outlive the page in logs
and history. A ticket is signed with SECRET_KEY, names the user and the token it was made with, and
expires after STREAM_TICKET_SECONDS; it stops working at once when that token is revoked. Nothing is
stored, so issuing one is not a write.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db.models import Q
from django.utils import timezone

from forum.models import ApiToken

_SALT = "forum.stream-ticket"


class TicketRefused(Exception):
    """Forged, expired, or made with a token that no longer works."""


def stream_ticket_issue(*, user, token: ApiToken | None) -> tuple[str, datetime.datetime]:
    """A ticket for `user` (authenticated with `token`, or None for a browser session), and when it expires."""
    ticket = signing.dumps({"u": user.pk, "t": None if token is None else token.pk}, salt=_SALT)
    return ticket, timezone.now() + datetime.timedelta(seconds=settings.STREAM_TICKET_SECONDS)


def stream_ticket_user(ticket: str):
    """The active user a ticket stands for; TicketRefused otherwise."""
    try:
        claims = signing.loads(ticket, salt=_SALT, max_age=settings.STREAM_TICKET_SECONDS)
        user_id, token_id = int(claims["u"]), claims["t"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):  # SignatureExpired is a BadSignature
        raise TicketRefused from None
    now = timezone.now()
    if token_id is None:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    else:
        token = (
            ApiToken.objects.filter(Q(expiry=None) | Q(expiry__gt=now), pk=token_id, user_id=user_id)
            .select_related("user")
            .first()
        )
        user = token.user if token is not None and token.user.is_active else None
    if user is None:
        raise TicketRefused
    return user
