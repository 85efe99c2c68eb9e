"""A view that runs raw SQL: RLS must confine it like the ORM (used by test_middleware)."""

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path


def raw_engagements(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_account_id::text, name FROM engagements ORDER BY name")
        rows = cursor.fetchall()
    return JsonResponse({"rows": rows})


urlpatterns = [
    path("raw/engagements/", raw_engagements),
    path("", include("modernize.urls")),
]
