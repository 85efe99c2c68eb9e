"""Database outages and cancelled queries answer 503 with a JSON error, wherever they are raised.

Django turns an exception raised in any middleware (the tenant middleware authenticates
and opens the tenant transaction, so an outage usually surfaces there) or in a plain view
into a 500 before the middleware above it sees anything. ``got_request_exception`` is sent
inside that conversion, with the exception in flight: the receiver below notes a database
error on the request, and ``DatabaseUnavailableMiddleware``, first in MIDDLEWARE and so the
last to see the response, rewrites that 500 (or DEBUG's technical page) into the 503. The
response keeps the headers the inner middleware set (security headers, Vary). DRF views
answer through ``modernize.api.exception_handler``, which uses the same classification.
"""

from __future__ import annotations

import json
import sys

from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError, InternalError, OperationalError
from django.dispatch import receiver
from django.http import JsonResponse

QUERY_CANCELED = "57014"  # SQLSTATE of statement_timeout (and of pg_cancel_backend)
OUTAGE_SQLSTATE_CLASSES = ("08", "53", "57", "58")
RETRY_AFTER_SECONDS = 5

_REQUEST_ATTRIBUTE = "_database_error"


def database_error(exc: BaseException) -> tuple[str, str] | None:
    """(code, message) of the 503 for a database outage or a cancelled query; None for any other error.

    An outage is what says the database or the link to it failed, not the request:
    OperationalError, InterfaceError, a driver error without SQLSTATE (a pooled connection
    cut mid-COMMIT answers "received 2 results"), or a SQLSTATE of the classes connection
    exception (08), insufficient resources (53), operator intervention (57: shutdown) or
    system error (58). Django wraps the driver's exception; its SQLSTATE is on the cause.
    """
    if not isinstance(exc, DatabaseError):
        return None
    cause = exc.__cause__ or exc
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate == QUERY_CANCELED:
        return "query_timeout", "The query took too long and was cancelled; narrow it or retry later."
    if (
        isinstance(exc, (OperationalError, InterfaceError))
        or (isinstance(exc, InternalError) and sqlstate is None)
        or (sqlstate or "")[:2] in OUTAGE_SQLSTATE_CLASSES
    ):
        return "database_unavailable", "The database is unavailable; retry shortly."
    return None


def database_error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "fields": {}}}


@receiver(got_request_exception, dispatch_uid="modernize.middleware.note_database_error")
def note_database_error(sender, request=None, **kwargs) -> None:
    exc = sys.exc_info()[1]
    if request is not None and exc is not None:
        classified = database_error(exc)
        if classified is not None:
            setattr(request, _REQUEST_ATTRIBUTE, classified)


class DatabaseUnavailableMiddleware:
    """First in MIDDLEWARE: a request that failed on the database gets a 503 JSON error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except DatabaseError as exc:
            # Only reached when Django lets exceptions through (DEBUG_PROPAGATE_EXCEPTIONS).
            classified = database_error(exc)
            if classified is None:
                raise
            response = JsonResponse(database_error_body(*classified), status=503)
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        classified = getattr(request, _REQUEST_ATTRIBUTE, None)
        if classified is not None and response.status_code == 500:
            response.status_code = 503
            response.reason_phrase = "Service Unavailable"
            response["Content-Type"] = "application/json"
            response.content = json.dumps(database_error_body(*classified))
            if response.has_header("Content-Length"):
                # CommonMiddleware measured the 500's body.
                response["Content-Length"] = str(len(response.content))
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
