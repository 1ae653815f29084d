"""How the API describes itself in OpenAPI (drf-spectacular annotations, and one pass over the result).

Clients are generated from /api/schema/ (tests/test_generating_a_client.py generates one with
openapi-python-client and walks the API through it) and the fuzzer (tests/test_fuzzing.py) holds the
server to it, so the schema says what the server answers, no more and no less:

- request bodies are JSON only (the form parsers stay for the browsable API's HTML forms, unpublished);
- errors are `{"field": ["message", ...]}` (`ValidationError`) for a 400 and `{"detail": "..."}`
  (`ErrorDetail`) otherwise, with `Retry-After` on a 429 and a 503 and `WWW-Authenticate` on a 401;
- a read anyone may make needs no credentials in the schema (a token is still accepted, and a bad one
  is a 401);
- enum members have names a generator can use (`CREATED_AT_DESC`, not `VALUE_0`).

Each view names the errors of its own logic with `errors(...)`; `finish_schema` adds those every
operation shares: 503 (the database is gone, config/outage.py), 401 wherever a token is read, and 400,
413 and 415 wherever a body is.
"""

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


_DETAIL = ErrorDetailSerializer
_VALIDATION_ERROR = {"$ref": "#/components/schemas/ValidationError"}  # added by finish_schema

# A 400's body: the refused fields, each with its messages; under a list field (a topic's stances) one
# object per entry, or an object naming what is wrong with the list as a whole; `detail` alone when the
# body could not be read at all (not JSON, a bad charset).
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": 'Invalid input: `{"field": ["message", ...]}` per refused field, `non_field_errors` for the '
    'whole request; under a list field one object of errors per entry (`[{}, {"slug": [...]}]`) or '
    '`{"non_field_errors": [...]}` for the list itself. `{"detail": "..."}` for a body that could not be read.',
    "properties": {
        "detail": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {"oneOf": [{"type": "array", "items": {}}, {"type": "object"}]},
}

ERRORS = {
    400: OpenApiResponse(_VALIDATION_ERROR, description="Invalid input: the refused fields, each with its messages."),
    401: OpenApiResponse(_DETAIL, description="No credentials where they are needed, or an unknown or expired token."),
    403: OpenApiResponse(
        _DETAIL,
        description="Not allowed: not the author, not a moderator or topic manager, suspended, locked, or a "
        "browser session's write without its CSRF token.",
    ),
    404: OpenApiResponse(_DETAIL, description="No such object (or no such page of a list)."),
    409: OpenApiResponse(_DETAIL, description="This Idempotency-Key was already used with another request."),
    413: OpenApiResponse(_DETAIL, description="The body is over DATA_UPLOAD_MAX_MEMORY_SIZE (256 KiB by default)."),
    415: OpenApiResponse(_DETAIL, description="The body is not application/json (the browsable API's forms aside)."),
    429: OpenApiResponse(_DETAIL, description="Throttled: try again after the number of seconds in Retry-After."),
    503: OpenApiResponse(_DETAIL, description="The database is unavailable: try again after Retry-After seconds."),
}


def errors(*codes: int) -> dict:
    """The documented error answers for `codes`, to merge into an `extend_schema(responses=...)` dict."""
    return {code: ERRORS[code] for code in codes}


def _header(name: str, description: str, *, answered: bool = False, always: bool = False) -> OpenApiParameter:
    """A header the client sends, or (`answered`) one the 200 and the 304 carry, `always` or not."""
    return OpenApiParameter(
        name,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[200, 304] if answered else False,
        required=always,
        description=description,
    )


# The conditional GET of a summary (discussions.apis._conditional): request and response headers.
CONDITIONAL_GET = [
    _header("If-None-Match", "The ETag of the summary read last: unchanged, it answers 304 with no body."),
    _header("If-Modified-Since", "An HTTP date; prefer If-None-Match (Last-Modified has one-second resolution)."),
    _header("ETag", "Send it back in If-None-Match.", answered=True, always=True),
    _header("Last-Modified", "When the summary last changed (absent while nothing was posted).", answered=True),
    _header(
        "Cache-Control",
        "`no-cache`: keep the answer, but confirm it with If-None-Match before using it again.",
        answered=True,
        always=True,
    ),
]

# A stance badge's GET (an image other sites show): conditional on its ETag alone, cacheable for a minute.
BADGE_CONDITIONAL_GET = [
    _header("If-None-Match", "The ETag of the badge fetched last: unchanged, it answers 304 with no body."),
    _header("ETag", "Send it back in If-None-Match.", answered=True, always=True),
    _header("Cache-Control", "`public, max-age=60`: any cache may keep it a minute.", answered=True, always=True),
]

# For the creating POSTs that replay their first answer to a retry (forum/idempotency.py), with errors(409).
IDEMPOTENCY_KEY = _header(
    "Idempotency-Key",
    "Send the same key (1 to 255 printable ASCII characters, a UUID say) when retrying: within 24 hours the "
    "first answer comes back and nothing is written again; the same key with another body is a 409.",
)

_RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "required": True,
        "description": "Seconds to wait before trying again.",
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {"schema": {"type": "string"}, "required": True, "description": "`Token`: send one."}
}
_DIGITS = {"type": "string", "pattern": "^[0-9]+$"}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _response(code: int) -> dict:
    body = _VALIDATION_ERROR if code == 400 else {"$ref": "#/components/schemas/ErrorDetail"}
    return {"description": ERRORS[code].description, "content": {"application/json": {"schema": body}}}


def _shared_errors(operation: dict, method: str, *, reads_a_token: bool) -> None:
    responses = operation["responses"]
    codes = [503]
    if reads_a_token:
        codes.append(401)
    if method not in ("get", "head", "options") and {"cookieAuth": []} in operation.get("security", []):
        codes.append(403)  # a browser session's write without its CSRF token
    if "requestBody" in operation:
        codes += [400, 413, 415]
    for code in codes:
        responses.setdefault(str(code), _response(code))
    for code, response in responses.items():
        if code in ("429", "503"):
            response.setdefault("headers", {}).update(_RETRY_AFTER)
        if code == "401":
            response.setdefault("headers", {}).update(_WWW_AUTHENTICATE)


def _public_reads(operation: dict) -> bool:
    """Drop the optional security (`{}` among the schemes) of what anyone may call; True if a token is read."""
    security = operation.get("security", [])
    reads_a_token = any(requirement for requirement in security)
    if {} in security:
        del operation["security"]
    return reads_a_token


def enum_varnames(values: list, description: str = "") -> list[str] | None:
    """Names for an enum's members: `-created_at` → `CREATED_AT_DESC`, `1` → its choice label (`UP`)."""
    labels = dict(re.findall(r"^\* `(-?\d+)` - (.+)$", description or "", flags=re.MULTILINE))
    names = []
    for value in values:
        if isinstance(value, bool) or value is None or value == "":
            return None  # drf-spectacular's Blank/Null enums: one member each, nothing to name
        if isinstance(value, int):
            label = labels.get(str(value))
            if label is None:
                return None
            names.append(label)
        elif value.startswith("-"):
            names.append(f"{value[1:]}_desc")
        else:
            names.append(value)
    names = [re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").upper() for name in names]
    return names if len(set(names)) == len(names) and all(names) else None


def _name_enum(schema: dict) -> None:
    if "enum" in schema and "x-enum-varnames" not in schema:
        names = enum_varnames(schema["enum"], schema.get("description", ""))
        if names is not None:
            schema["x-enum-varnames"] = names


def _is_page(component: dict) -> bool:
    return {"count", "next", "previous", "results"} <= set(component.get("properties", {}))


def finish_schema(result, generator, request, public):
    """drf-spectacular's last hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]): what every operation shares."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ValidationError"] = VALIDATION_ERROR_SCHEMA
    schemas.setdefault(
        "ErrorDetail", {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
    )
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            _shared_errors(operation, method, reads_a_token=_public_reads(operation))
            for parameter in operation.get("parameters", []):
                _name_enum(parameter.get("schema", {}))
                if parameter["in"] == "path" and parameter["schema"] == _DIGITS:
                    # A viewset's `lookup_value_regex = r"[0-9]+"`: the id is a number, and typed as one.
                    parameter["schema"] = {"type": "integer"}
    for component in schemas.values():
        _name_enum(component)
        if _is_page(component):
            # DRF's page schema leaves them out of `required`, but every page answers both (null at an end).
            component["required"] = sorted({*component.get("required", []), "count", "next", "previous", "results"})
    return result
