"""Turn the domain's Django exceptions into the API's JSON errors."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler

from config.outage import UNAVAILABLE, database_unavailable_response


def api_exception_handler(exc, context):
    """Services raise Django's ValidationError: a 400 naming the fields. A lost database: a 503."""
    if isinstance(exc, UNAVAILABLE):
        return database_unavailable_response()
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {field: [m for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    return exception_handler(exc, context)
