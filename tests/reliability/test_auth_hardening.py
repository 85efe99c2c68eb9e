"""Authentication hardening: throttled and audited logins, revocable tokens, no secrets in
logs, security headers; and the 503 of a database outage keeps those headers."""

import logging
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import OperationalError, connections
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from modernize.middleware import database_error
from modernize.security.models import SecurityAuditLog
from tenancy.context import platform_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

LOGIN = "/api/v1/auth/token/"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def _events(event_type: str) -> list[SecurityAuditLog]:
    with platform_context(reason="test: read the authentication audit"):
        return list(SecurityAuditLog.objects.filter(event_type=event_type).order_by("created_at"))


def test_failed_and_throttled_logins_are_audited(world, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min"})
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    email = world.a.users["viewer"].email
    statuses = [client.post(LOGIN, {"email": email, "password": f"guess-{i}"}, format="json").status_code for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    throttled = client.post(LOGIN, {"email": email, "password": world.password}, format="json")
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "throttled"
    assert throttled["Retry-After"]

    failed = _events("login_failed")
    assert len(failed) == 3
    assert {e.ip_address for e in failed} == {"203.0.113.9"}
    assert all(e.details == {"email_domain": "a.example"} for e in failed)
    refused = _events("login_throttled")
    assert len(refused) == 3
    assert all(e.is_blocked and e.severity == "WARNING" and e.ip_address == "203.0.113.9" for e in refused)


def test_a_revoked_or_expired_token_is_refused_and_cannot_be_revoked_again(world):
    client = APIClient()
    key = client.post(LOGIN, {"email": world.a.users["analyst"].email, "password": world.password}, format="json").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert client.get("/api/v1/me/", **auth).status_code == 200
    assert client.post("/api/v1/auth/token/revoke/", **auth).status_code == 204
    assert client.get("/api/v1/me/", **auth).status_code == 401
    assert client.post("/api/v1/auth/token/revoke/", **auth).status_code == 401
    other = client.post(LOGIN, {"email": world.a.users["analyst"].email, "password": world.password}, format="json").json()["token"]
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {other}").status_code == 200, "revoking one token revoked another"


def test_no_password_or_token_reaches_the_logs(world, caplog):
    """Every logger at DEBUG, SQL included (force_debug_cursor), over a login, API calls and a revoke."""
    wrong_password = "Tr0ub4dor&3-wrong"
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")  # Django's default config holds "django" at INFO
    for alias in connections:
        connections[alias].force_debug_cursor = True
    try:
        client = APIClient()
        assert client.post(LOGIN, {"email": world.a.users["analyst"].email, "password": wrong_password}, format="json").status_code == 401
        key = client.post(LOGIN, {"email": world.a.users["analyst"].email, "password": world.password}, format="json").json()["token"]
        auth = {"HTTP_AUTHORIZATION": f"Token {key}", "HTTP_X_CLIENT_ACCOUNT_ID": str(world.a.id)}
        assert client.get("/api/v1/patterns/", **auth).status_code == 200
        assert client.post("/api/v1/patterns/search/", {"query": "Oracle"}, format="json", **auth).status_code == 200
        assert client.post("/api/v1/auth/token/revoke/", **auth).status_code == 204
        assert client.get("/api/v1/me/", **auth).status_code == 401
    finally:
        for alias in connections:
            connections[alias].force_debug_cursor = False
    logged = "\n".join(
        f"{r.getMessage()} {r.args!r} {getattr(r, 'sql', '')} {getattr(r, 'params', '')} {r.exc_text or ''}" for r in caplog.records
    )
    assert "SELECT" in logged, "SQL was not captured: the test would prove nothing"
    for secret in (key, world.password, wrong_password):
        assert secret not in logged
    with platform_context(reason="test: audit rows carry no secrets"):
        audit = " ".join(f"{e.description} {e.details} {e.user_agent} {e.request_path}" for e in SecurityAuditLog.objects.all())
    for secret in (key, world.password, wrong_password):
        assert secret not in audit


def test_security_headers_on_api_responses(world, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = APIClient().get("/api/v1/me/", secure=True)
    assert response.status_code == 401
    for name, value in SECURITY_HEADERS.items():
        assert response[name] == value
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_an_outage_in_the_tenant_middleware_is_a_503_json_error_with_the_security_headers(world):
    from tenancy.services import api_token_create

    key, _ = api_token_create(user=world.a.users["analyst"])
    client = Client(raise_request_exception=False)
    with mock.patch("tenancy.middleware.memberships_for_user", side_effect=OperationalError("server closed the connection unexpectedly")):
        response = client.get("/api/v1/patterns/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 503
    assert response.json() == {"error": {"code": "database_unavailable", "message": "The database is unavailable; retry shortly.", "fields": {}}}
    assert response["Content-Length"] == str(len(response.content))
    assert response["Retry-After"]
    for name, value in SECURITY_HEADERS.items():
        assert response[name] == value


def test_other_errors_stay_500_and_are_not_called_outages(world):
    from tenancy.services import api_token_create

    key, _ = api_token_create(user=world.a.users["analyst"])
    client = Client(raise_request_exception=False)
    with mock.patch("tenancy.middleware.memberships_for_user", side_effect=RuntimeError("a bug")):
        response = client.get("/api/v1/patterns/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"


def test_database_errors_are_classified_by_sqlstate():
    import psycopg.errors as pg
    from django.db import DataError, IntegrityError, InternalError, ProgrammingError

    def wrapped(django_class, cause):
        exc = django_class(str(cause))
        exc.__cause__ = cause
        return exc

    assert database_error(wrapped(OperationalError, pg.QueryCanceled("canceling statement due to statement timeout")))[0] == "query_timeout"
    assert database_error(wrapped(OperationalError, pg.AdminShutdown("terminating connection")))[0] == "database_unavailable"
    assert database_error(wrapped(InternalError, __import__("psycopg").InternalError("received 2 results from command 'COMMIT'")))[0] == "database_unavailable"
    assert database_error(wrapped(DataError, pg.NumericValueOutOfRange("out of range"))) is None
    assert database_error(wrapped(IntegrityError, pg.UniqueViolation("duplicate key"))) is None
    assert database_error(wrapped(ProgrammingError, pg.UndefinedColumn("no such column"))) is None
    assert database_error(RuntimeError("not a database error")) is None
