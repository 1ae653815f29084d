"""The one place the domain's exceptions become the API's JSON errors."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler

from config.outage import UNAVAILABLE, database_unavailable_response
from forum import errors


def _as_drf(exc):
    """The DRF exception a domain error (or a Django ValidationError from a model or form) stands for."""
    if isinstance(exc, errors.Invalid):
        return exceptions.ValidationError(exc.errors)
    if isinstance(exc, errors.NotFound):
        return exceptions.NotFound(exc.message or None)
    if isinstance(exc, errors.NotAllowed):
        return exceptions.PermissionDenied(exc.message or None)
    if isinstance(exc, errors.Conflict):
        conflict = exceptions.APIException(exc.message or "Conflict.")
        conflict.status_code = 409
        return conflict
    if isinstance(exc, errors.RateLimited):
        return exceptions.Throttled(wait=exc.wait, detail=exc.message or None)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {field: [m for e in errs for m in e.messages] for field, errs in exc.error_dict.items()}
        else:
            detail = {"non_field_errors": exc.messages}
        return exceptions.ValidationError(detail)
    return exc


def api_exception_handler(exc, context):
    """Invalid → 400 naming the fields, NotFound → 404, NotAllowed → 403, Conflict → 409, RateLimited → 429
    with Retry-After; a lost database → 503. Everything else as DRF answers it."""
    if isinstance(exc, UNAVAILABLE):
        return database_unavailable_response(exc)
    return exception_handler(_as_drf(exc), context)
