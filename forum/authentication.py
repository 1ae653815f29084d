"""Token authentication against forum.ApiToken: one indexed lookup, digests compared in constant time."""

import datetime
import re
from hmac import compare_digest

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions

from forum.models import ApiToken
from forum.permissions import suspension_checked
from forum.selectors import suspension_in_force_exists

# knox tokens and the 40-character keys of the tokens migrated from DRF's authtoken are lowercase hex.
_TOKEN = re.compile(r"[0-9a-f]{16,128}")
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
_TOKEN_USER = ".".join(
    connection.ops.quote_name(n) for n in (ApiToken._meta.db_table, ApiToken._meta.get_field("user").column)
)


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`; an expired or revoked token is refused like an unknown one.

    Unlike knox's own class it does not sweep the user's other tokens on every request (a query each time):
    expired tokens are simply never matched, and a new login removes the user's expired ones. The same
    query tells whether the user is suspended, so a write does not look that up again.
    """

    def authenticate_credentials(self, token: bytes):
        invalid = exceptions.AuthenticationFailed("Invalid token.")
        try:
            key = token.decode("ascii")
        except UnicodeDecodeError:
            raise invalid from None
        if not _TOKEN.fullmatch(key):  # also keeps a NUL, which PostgreSQL refuses, out of the query
            raise invalid
        now = timezone.now()
        digest = hash_token(key)
        candidates = (
            ApiToken.objects.filter(Q(expiry=None) | Q(expiry__gt=now), token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH])
            .select_related("user")
            .annotate(suspended=suspension_in_force_exists(_TOKEN_USER, now))
        )
        for candidate in candidates:
            if compare_digest(digest, candidate.digest):
                if not candidate.user.is_active:
                    raise exceptions.AuthenticationFailed("User inactive or deleted.")
                # Answered afresh on every request, so a suspension made since the last one is honoured.
                suspension_checked(candidate.user, candidate.suspended)
                if candidate.last_used_at is None or now - candidate.last_used_at >= LAST_USED_RESOLUTION:
                    ApiToken.objects.filter(pk=candidate.pk).update(last_used_at=now)
                    candidate.last_used_at = now
                return candidate.user, candidate
        raise invalid


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the schema describes it: the same `tokenAuth` scheme generated clients knew before knox."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
