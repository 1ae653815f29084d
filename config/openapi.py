"""The error answers of the API, for the OpenAPI description (drf-spectacular annotations only).

Clients and the fuzzer (tests/test_fuzzing.py) read which 4xx codes an operation can give and what
their bodies look like: `{"field": ["message", ...]}` (or nested under list fields) for a 400, and
`{"detail": "..."}` for the others.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


_DETAIL = ErrorDetailSerializer

ERRORS = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description='Invalid input: `{"field": ["message", ...]}` per field (`non_field_errors` for the whole '
        'request), or `{"detail": "..."}` for a body that is not valid JSON.',
    ),
    401: OpenApiResponse(_DETAIL, description="No credentials where they are needed, or an unknown token."),
    403: OpenApiResponse(
        _DETAIL, description="Not allowed: not the author, not a moderator or staff, suspended, or locked."
    ),
    404: OpenApiResponse(_DETAIL, description="No such object (or no such page of a list)."),
    415: OpenApiResponse(_DETAIL, description="The body's Content-Type is not JSON, form or multipart."),
    429: OpenApiResponse(_DETAIL, description="Throttled: try again after the number of seconds in Retry-After."),
}


def errors(*codes: int) -> dict:
    """The documented error answers for `codes`, to merge into an `extend_schema(responses=...)` dict."""
    return {code: ERRORS[code] for code in codes}
