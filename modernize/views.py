from django.db import connections
from django.db.utils import Error as DatabaseDriverError
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from modernize.api import error_body


@require_GET
def healthz(request):
    """200 with the database status and pgvector version; 503 when the database is down."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('server_version'), (SELECT extversion FROM pg_extension WHERE extname = 'vector')"
            )
            server_version, vector_version = cursor.fetchone()
    except DatabaseDriverError as exc:
        body = error_body("database_unavailable", f"The database is unreachable: {type(exc).__name__}.")
        body["database"] = "unavailable"
        return JsonResponse(body, status=503)
    if vector_version is None:
        return JsonResponse({**error_body("pgvector_missing", "The vector extension is not installed."), "database": "ok"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "postgresql": server_version, "pgvector": vector_version})
