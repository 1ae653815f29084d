import functools

from django.conf import settings
from django.core.paginator import Paginator
from rest_framework import pagination


class _CountedPaginator(Paginator):
    """A paginator told its length, so it need not COUNT(*) rows a maintained counter already knows."""

    def __init__(self, *args, count: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.count = count  # replaces Paginator.count, a cached_property


class PageNumberPagination(pagination.PageNumberPagination):
    """Page-number pagination; clients pick `page_size` up to API_MAX_PAGE_SIZE.

    A view may offer `known_count()`: the list's length from a maintained counter, or None to count.
    """

    page_size_query_param = "page_size"

    @property
    def max_page_size(self):
        return settings.API_MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        known = getattr(view, "known_count", None)
        count = known() if known else None
        self.django_paginator_class = Paginator if count is None else functools.partial(_CountedPaginator, count=count)
        return super().paginate_queryset(queryset, request, view)
