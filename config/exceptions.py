"""API error shape: DRF's field-level 400s as they are; Django ValidationErrors become 400s too."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"nonFieldErrors": exc.messages}
        )
        exc = exceptions.ValidationError(detail=detail)
    return drf_exception_handler(exc, context)


def not_found(request, exception=None):
    """404 for unknown URLs: JSON under /api/ (clients parse it), Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
