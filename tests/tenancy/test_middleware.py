"""The middleware puts each request in its user's tenant, and only there."""

import pytest

from modernize.security.models import SecurityAuditLog
from tenancy.context import platform_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def _token(client, world, user):
    response = client.post("/api/v1/auth/token/", {"email": user.email, "password": world.password}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def _get(client, path, token, **headers):
    return client.get(path, HTTP_AUTHORIZATION=f"Token {token}", **headers)


def test_token_request_sees_only_its_tenant(client, world):
    token = _token(client, world, world.a.users["client_admin"])
    body = _get(client, "/api/v1/engagements/", token).json()
    assert {e["client_account_id"] for e in body["results"]} == {str(world.a.id)}
    assert len(body["results"]) >= 2


def test_session_request_sees_only_its_tenant(client, world):
    client.force_login(world.b.users["viewer"])
    body = client.get("/api/v1/engagements/").json()
    assert {e["client_account_id"] for e in body["results"]} == {str(world.b.id)}


@pytest.mark.urls("tests.tenancy.urls_raw_sql")
def test_raw_sql_in_a_view_is_confined(client, world):
    client.force_login(world.a.users["viewer"])
    rows = client.get("/raw/engagements/").json()["rows"]
    assert rows and {client_id for client_id, _ in rows} == {str(world.a.id)}


@pytest.mark.urls("tests.tenancy.urls_raw_sql")
def test_unauthenticated_raw_sql_sees_nothing(client, world):
    assert client.get("/raw/engagements/").json()["rows"] == []


def test_forged_tenant_header_is_refused_and_audited(client, world):
    token = _token(client, world, world.a.users["client_admin"])
    response = _get(client, "/api/v1/engagements/", token, HTTP_X_CLIENT_ACCOUNT_ID=str(world.b.id))
    assert response.status_code == 403
    assert "X-Client-Account-Id" in response.json()["error"]["message"]
    with platform_context(reason="test: read audit"):
        event = SecurityAuditLog.objects.filter(event_type="forged_tenant_header").latest("created_at")
    assert event.is_suspicious and event.actor_user_id == world.a.users["client_admin"].pk
    assert event.details["requested_client_account_id"] == str(world.b.id)


def test_malformed_tenant_header_is_refused(client, world):
    token = _token(client, world, world.a.users["client_admin"])
    response = _get(client, "/api/v1/engagements/", token, HTTP_X_CLIENT_ACCOUNT_ID="not-a-uuid")
    assert response.status_code == 403


def test_header_selects_among_memberships(client, world):
    token = _token(client, world, world.multi_user)
    me = _get(client, "/api/v1/me/", token).json()
    assert me["client_account_id"] == str(world.a.id)  # the oldest membership by default
    assert {m["client_account_id"] for m in me["memberships"]} == {str(world.a.id), str(world.b.id)}
    body = _get(client, "/api/v1/engagements/", token, HTTP_X_CLIENT_ACCOUNT_ID=str(world.b.id)).json()
    assert {e["client_account_id"] for e in body["results"]} == {str(world.b.id)}


def test_revoked_token_is_refused(client, world):
    token = _token(client, world, world.a.users["viewer"])
    assert client.post("/api/v1/auth/token/revoke/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 204
    assert _get(client, "/api/v1/engagements/", token).status_code == 401


def test_wrong_password_is_401_and_audited(client, world):
    response = client.post("/api/v1/auth/token/", {"email": world.a.users["viewer"].email, "password": "nope"}, content_type="application/json")
    assert response.status_code == 401
    with platform_context(reason="test: read audit"):
        assert SecurityAuditLog.objects.filter(event_type="login_failed").exists()


def test_no_membership_means_no_tenant(client, world):
    client.force_login(world.platform_admin)
    response = client.get("/api/v1/engagements/")
    assert response.status_code == 403
    assert "client account" in response.json()["error"]["message"]


def test_error_response_rolls_back_the_tenant_transaction(client, world):
    token = _token(client, world, world.a.users["client_admin"])
    payload = {"name": "Dup", "slug": world.a.engagements[0].slug}
    response = client.post("/api/v1/engagements/", payload, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 409
    # The connection is usable and the tenant still sees exactly its engagements.
    body = _get(client, "/api/v1/engagements/", token).json()
    assert {e["client_account_id"] for e in body["results"]} == {str(world.a.id)}
