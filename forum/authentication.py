"""Token authentication against forum.ApiToken: one indexed lookup, digests compared in constant time."""

import datetime
import functools
import re
from hmac import compare_digest

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions

from forum.models import ApiToken
from forum.permissions import suspension_checked
from forum.rawsql import columns, from_row, prepared_cursor
from forum.selectors import suspension_in_force_sql

# knox tokens and the 40-character keys of the tokens migrated from DRF's authtoken are lowercase hex.
_TOKEN = re.compile(r"[0-9a-f]{16,128}")
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


@functools.lru_cache(maxsize=4)
def _lookup_sql(vendor: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The token lookup's SQL (now twice, key prefix, now) and the token's and user's columns it selects, in order."""
    User, quote = get_user_model(), connection.ops.quote_name
    token_names, token_list = columns(ApiToken, "t")
    user_names, user_list = columns(User, "u")
    column = {name: quote(ApiToken._meta.get_field(name).column) for name in ("user", "token_key", "expiry")}
    suspended = suspension_in_force_sql(f"t.{column['user']}")
    sql = (
        f"SELECT {token_list}, {user_list}, {suspended} FROM {quote(ApiToken._meta.db_table)} t "
        f"INNER JOIN {quote(User._meta.db_table)} u ON u.{quote(User._meta.pk.column)} = t.{column['user']} "
        f"WHERE t.{column['token_key']} = %s AND (t.{column['expiry']} IS NULL OR t.{column['expiry']} > %s)"
    )
    return sql, token_names, user_names


def _candidates(prefix: str, now) -> list[tuple[ApiToken, bool]]:
    """The live tokens with this key prefix, each with its user loaded and whether a suspension is in force."""
    # Raw SQL: every authenticated request runs it, and the ORM spelling (select_related and the suspension
    # annotation) took as long to compile in Python as the database took to answer it.
    sql, token_names, user_names = _lookup_sql(connection.vendor)
    at = connection.ops.adapt_datetimefield_value(now)
    with prepared_cursor() as cursor:
        cursor.execute(sql, [at, at, prefix, at])
        rows = cursor.fetchall()
    User, found, split = get_user_model(), [], len(token_names)
    for row in rows:
        token = from_row(ApiToken, token_names, row[:split])
        token.user = from_row(User, user_names, row[split:-1])
        found.append((token, bool(row[-1])))  # SQLite answers EXISTS with 0 or 1
    return found


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
        for candidate, suspended in _candidates(key[: CONSTANTS.TOKEN_KEY_LENGTH], now):
            if compare_digest(digest, candidate.digest):
                if not candidate.user.is_active:
                    raise exceptions.AuthenticationFailed("User inactive or deleted.")
                # Answered afresh on every request, so a suspension made since the last one is honoured.
                suspension_checked(candidate.user, suspended)
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
