"""Every list's pagination: `page`/`page_size` as before, and `next`/`previous` links that are keyset cursors.

A cursor names the last row seen by its ordering columns, so the page after it is an index range scan that
costs the same at page 2,000 as at page 1; `page=N` keeps working (an OFFSET, dearer the deeper it goes).
`count` comes from the view's `known_count()` (a maintained counter) and is null where no counter knows it,
since a COUNT(*) over a filtered topic grows with the topic.
"""

import base64
import binascii
import datetime
import json
import math

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import BooleanField, F, Func, Value
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as BadRequest
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_CURSOR_LENGTH = 512


class _Row(Func):
    """`(a, b, c)`: a row value, which PostgreSQL and SQLite both compare column by column."""

    function = ""


class _RowComparison(Func):
    """`(a, b) < (x, y)`: one comparison an index on (…, a, b) serves as a range, unlike the OR of its parts."""

    template = "%(expressions)s"
    output_field = BooleanField()

    def __init__(self, lhs, operator, rhs):
        super().__init__(lhs, rhs)
        self.arg_joiner = f" {operator} "


def _keyset_order(queryset) -> list[tuple[object, bool]] | None:
    """The queryset's ordering as (model field, descending), when a keyset can follow it: one direction for
    every column, none nullable, and a unique last column; None otherwise (links then fall back to pages)."""
    query = queryset.query
    names = list(query.order_by) or (list(query.get_meta().ordering) if query.default_ordering else [])
    if not names or not all(isinstance(name, str) for name in names):
        return None
    order = []
    for name in names:
        descending = name.startswith("-")
        bare = name.lstrip("-")
        try:
            field = queryset.model._meta.pk if bare == "pk" else queryset.model._meta.get_field(bare)
        except FieldDoesNotExist:
            return None
        if not field.concrete or field.null or field.is_relation:
            return None
        order.append((field, descending))
    if len({descending for _, descending in order}) != 1 or not order[-1][0].unique:
        return None
    return order


def _signature(order) -> str:
    return ",".join(("-" if descending else "") + field.name for field, descending in order)


class Pagination(pagination.BasePagination):
    """`page`, `page_size` (up to API_MAX_PAGE_SIZE) and `cursor`; answers `count`, `next`, `previous`, `results`.

    A view may offer `known_count()`: the list's length from a maintained counter, or None when none knows it.
    """

    page_query_param = "page"
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.size = self._page_size(request)
        self.order = _keyset_order(queryset)
        known = getattr(view, "known_count", None)
        self.count = known() if known else None
        raw = request.query_params.get(self.cursor_query_param)
        if raw:
            return self._by_cursor(queryset, raw)
        return self._by_page(queryset, self._page_number(request))

    def _by_page(self, queryset, number: int) -> list:
        start = (number - 1) * self.size
        rows = list(queryset[start : start + self.size + 1])  # one more: is there a next page?
        if not rows and number > 1:
            raise NotFound("Invalid page.")
        more, rows = len(rows) > self.size, rows[: self.size]
        self.next = self._link_after(rows[-1], number + 1) if more else None
        self.previous = None
        if number > 1:
            url = self.request.build_absolute_uri()
            url = remove_query_param(url, self.cursor_query_param)
            if number == 2:
                self.previous = remove_query_param(url, self.page_query_param)
            else:
                self.previous = replace_query_param(url, self.page_query_param, number - 1)
        return rows

    def _by_cursor(self, queryset, raw: str) -> list:
        if self.order is None:
            raise BadRequest({self.cursor_query_param: ["This list is paged by page number only."]})
        values, backwards = self._decode(raw)
        lhs = _Row(*(F(field.attname) for field, _ in self.order))
        rhs = _Row(*(Value(value, output_field=field) for (field, _), value in zip(self.order, values, strict=True)))
        # Forwards means "after the cursor in the list's order"; backwards walks the reversed order from it.
        descending = self.order[0][1]
        operator = "<" if descending != backwards else ">"
        queryset = queryset.filter(_RowComparison(lhs, operator, rhs))
        if backwards:
            queryset = queryset.reverse()
        rows = list(queryset[: self.size + 1])
        more, rows = len(rows) > self.size, rows[: self.size]
        if backwards:
            rows.reverse()
        first = self._values(rows[0]) if rows else values
        last = self._values(rows[-1]) if rows else values
        self.next = self._cursor_link(last, backwards=False) if (more or backwards) else None
        self.previous = self._cursor_link(first, backwards=True) if (more or not backwards) else None
        return rows

    def _values(self, row) -> list:
        return [getattr(row, field.attname) for field, _ in self.order]

    def _link_after(self, row, next_number: int) -> str:
        if self.order is None:
            url = self.request.build_absolute_uri()
            return replace_query_param(url, self.page_query_param, next_number)
        return self._cursor_link(self._values(row), backwards=False)

    def _cursor_link(self, values: list, *, backwards: bool) -> str:
        encoded = [value.isoformat() if hasattr(value, "isoformat") else value for value in values]
        payload = json.dumps([_signature(self.order), int(backwards), encoded], separators=(",", ":"))
        cursor = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def _decode(self, raw: str) -> tuple[list, bool]:
        invalid = BadRequest({self.cursor_query_param: ["Invalid cursor: follow a `next` or `previous` link."]})
        if len(raw) > MAX_CURSOR_LENGTH:
            raise invalid
        try:
            payload = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            signature, backwards, values = json.loads(payload, parse_constant=_refuse_constant)
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            raise invalid from None
        if signature != _signature(self.order):
            raise BadRequest({self.cursor_query_param: ["This cursor belongs to another ordering of the list."]})
        if backwards not in (0, 1) or not isinstance(values, list) or len(values) != len(self.order):
            raise invalid
        cleaned = []
        for (field, _), value in zip(self.order, values, strict=True):
            # JSON's true/false only for a boolean column, and only scalars anywhere.
            if not isinstance(value, str | int | float) or isinstance(value, bool) != (
                field.get_internal_type() == "BooleanField"
            ):
                raise invalid
            try:
                python = field.to_python(value)
                field.run_validators(python)  # an integer beyond the column's range would be a database error
            except ValidationError:
                raise invalid from None
            if python is None or (isinstance(python, float) and not math.isfinite(python)):
                raise invalid
            if isinstance(python, datetime.datetime):
                try:  # the database adapter converts to UTC: 0001-01-01T00:00+01:00 would overflow there
                    python = python.astimezone(datetime.UTC) if python.tzinfo else None
                except OverflowError:
                    python = None
                if python is None:
                    raise invalid
            cleaned.append(python)
        return cleaned, bool(backwards)

    def _page_size(self, request) -> int:
        given = request.query_params.get(self.page_size_query_param, "")
        # As DRF's own pagination: a missing or unusable page_size means the default, a big one the maximum.
        if given.isascii() and given.isdigit() and int(given) > 0:
            return min(int(given), settings.API_MAX_PAGE_SIZE)
        return settings.REST_FRAMEWORK["PAGE_SIZE"]

    def _page_number(self, request) -> int:
        given = request.query_params.get(self.page_query_param, "1")
        if not (given.isascii() and given.isdigit()) or len(given) > 9 or int(given) < 1:
            raise BadRequest({self.page_query_param: ["A whole number of 1 or more."]})
        return int(given)

    def get_paginated_response(self, data):
        return Response({"count": self.count, "next": self.next, "previous": self.previous, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "nullable": True,
                    "description": "From a maintained counter; null where none knows this list's length.",
                    "example": 123,
                },
                "next": {"type": "string", "nullable": True, "format": "uri", "description": "A cursor link."},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        def integer(name, description):
            return {
                "name": name,
                "required": False,
                "in": "query",
                "description": description,
                "schema": {"type": "integer", "minimum": 1},
            }

        return [
            integer(self.page_query_param, "Page number (an offset: following `next` is cheaper at depth)."),
            integer(self.page_size_query_param, f"Results per page, at most {settings.API_MAX_PAGE_SIZE}."),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque position from a `next` or `previous` link.",
                "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
            },
        ]


def _refuse_constant(name):
    raise ValueError(f"{name} is not a position")
