"""Safe retries: a creating request sent with an Idempotency-Key is answered once and replayed after.

The answer is built and stored inside the write's own transaction (the services' `on_written` hook), so
a committed write always has its stored answer, and a retry after a lost answer gets it instead of writing
again. The same key with another request is a 409. Keys are the caller's own and last 24 hours.
"""

import datetime
import hashlib
import json
import re

from django.db import IntegrityError
from django.utils import timezone
from rest_framework.response import Response

from forum.errors import Conflict, Invalid
from forum.models import IdempotencyKey

HEADER = "Idempotency-Key"
WINDOW = datetime.timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces: what clients send (often a UUID)


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _stored(request, key: str, fingerprint: str) -> Response | None:
    row = IdempotencyKey.objects.filter(user=request.user, key=key, created_at__gte=timezone.now() - WINDOW).first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise Conflict(f"This {HEADER} was used with another request; send a new key for a new request.")
    return Response(row.body, status=row.status, headers={"Idempotent-Replayed": "true"})


def idempotent(request, *, status: int, write, answer) -> Response:
    """Run `write(on_written)` once per key; `answer(obj)` builds the JSON inside the write's transaction."""
    key = request.headers.get(HEADER)
    if key is not None and not _KEY.fullmatch(key):
        raise Invalid.on(HEADER, "Use 1 to 255 printable ASCII characters without spaces, such as a UUID.")
    fingerprint = _fingerprint(request) if key is not None else ""
    if key is not None and (earlier := _stored(request, key, fingerprint)) is not None:
        return earlier
    built = {}

    def on_written(obj):
        built["body"] = answer(obj)
        if key is not None:
            # The caller's lapsed keys go first, so one reused after a day can be stored again.
            IdempotencyKey.objects.filter(user=request.user, created_at__lt=timezone.now() - WINDOW).delete()
            IdempotencyKey.objects.create(
                user=request.user, key=key, fingerprint=fingerprint, status=status, body=built["body"]
            )

    try:
        write(on_written)
    except IntegrityError:
        # The same key raced in twice: the other request's write and answer committed, this one rolled back.
        earlier = _stored(request, key, fingerprint) if key is not None else None
        if earlier is None:
            raise
        return earlier
    return Response(built["body"], status=status)
