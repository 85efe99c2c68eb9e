"""The application's URLs plus test-only views that hold a query for a while (statement_timeout).

Both views write first (an engagement), then sleep in the database inside the request's
tenant transaction: one as a DRF view (the API exception handler answers), one as a plain
Django view (DatabaseUnavailableMiddleware answers).
"""

from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import APIView

from modernize.urls import urlpatterns as application_urlpatterns
from tenancy.services import engagement_create


def _write_then_sleep(request) -> None:
    engagement_create(client_account_id=request.tenant.client_account_id, name="Slow request", slug=request.GET["slug"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [float(request.GET.get("seconds", 5))])


class SleepAPIView(APIView):
    def post(self, request):
        _write_then_sleep(request._request)
        return Response({"slept": True})


@csrf_exempt
def sleep_plain(request):
    _write_then_sleep(request)
    return JsonResponse({"slept": True})


urlpatterns = application_urlpatterns + [
    path("test-only/sleep/api/", SleepAPIView.as_view()),
    path("test-only/sleep/plain/", sleep_plain),
]

handler404 = "modernize.api.json_404"
handler500 = "modernize.api.json_500"
