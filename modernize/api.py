"""One error shape for the whole API: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, connections, transaction
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from modernize.middleware import RETRY_AFTER_SECONDS, database_error
from tenancy.context import current_platform, current_tenant

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        return {key: [str(m) for m in (value if isinstance(value, list) else [value])] if not isinstance(value, dict) else _flatten(value) for key, value in detail.items()}
    return {"non_field_errors": [str(m) for m in (detail if isinstance(detail, list) else [detail])]}


def _rollback_request_transaction() -> None:
    # The tenant middleware's transaction would otherwise commit what the view wrote
    # before it failed (DRF only does this itself under ATOMIC_REQUESTS). Only the
    # context's own transaction: a request outside every context (login) has none, and
    # marking whatever encloses it (a test's transaction) would break that instead.
    for alias, active in (("default", current_tenant()), ("owner", current_platform())):
        if active is not None and connections[alias].in_atomic_block:
            transaction.set_rollback(True, using=alias)


def exception_handler(exc, context):
    _rollback_request_transaction()
    if isinstance(exc, IntegrityError):
        return Response(error_body("conflict", "The change conflicts with existing data (a unique or reference rule)."), status=409)
    outage = database_error(exc)
    if outage is not None:
        # Outage or statement_timeout: the same 503 as outside DRF (modernize.middleware).
        return Response(error_body(*outage), status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, DataError):
        # A value the database cannot store (NUL in text, out of range) that validation
        # let through: the request's fault, but logged, since a serializer should have caught it.
        logger.warning("Database refused a request's data: %s", exc, exc_info=exc)
        return Response(error_body("invalid", "The request holds a value the database cannot store."), status=400)
    if isinstance(exc, RequestDataTooBig):
        limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
        return Response(error_body("payload_too_large", f"The request body is larger than {limit_mb:g} MB."), status=413)
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return Response(error_body("too_many_fields", "The request has too many query or form fields."), status=400)
    if isinstance(exc, Http404):
        # Django's 404 (get_object_or_404) names the model; say what DRF's NotFound says.
        return Response(error_body("not_found", "Not found."), status=404)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        return Response(error_body("invalid", " ".join(exc.messages), fields), status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first_field = next(iter(fields), "non_field_errors")
        first = fields[first_field]
        first_message = first[0] if isinstance(first, list) and first else str(first)
        message = first_message if first_field == "non_field_errors" else f"{first_field}: {first_message}"
        response.data = error_body("invalid", message, fields)
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(exc, "default_code", "error")
        if hasattr(detail, "code") and detail.code:
            code = detail.code
        response.data = error_body(str(code), str(detail))
    return response


def json_404(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)


def json_500(request):
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)
