"""Role change approvals through the API: rank rules and audit events."""

import pytest

from modernize.security.models import SecurityAuditLog
from tenancy.context import tenant_context
from tenancy.models import ClientMembership

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def _as(client, user):
    client.force_login(user)
    return client


def _request(client, world, *, by, target, role):
    return _as(client, by).post(
        "/api/v1/role-changes/",
        {"target_user_id": str(target.pk), "requested_role": role, "justification": "Leads the wave 2 cutover."},
        content_type="application/json",
    )


def test_analyst_requests_promotion_and_client_admin_approves(client, world):
    analyst = world.a.users["analyst"]
    response = _request(client, world, by=analyst, target=analyst, role="engagement_manager")
    assert response.status_code == 201, response.content
    approval = response.json()
    assert approval["status"] == "PENDING" and approval["current_role"] == "analyst"

    decided = _as(client, world.a.users["client_admin"]).post(f"/api/v1/role-changes/{approval['id']}/approve/", {}, content_type="application/json")
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "APPROVED"
    with tenant_context(world.a.id):
        assert ClientMembership.objects.get(user=analyst).role == "engagement_manager"
        events = set(SecurityAuditLog.objects.filter(target_user_id=analyst.pk).values_list("event_type", flat=True))
    assert "role_escalation" in events


def test_a_peer_of_the_requested_rank_cannot_approve(client, world):
    analyst = world.a.users["analyst"]
    approval = _request(client, world, by=analyst, target=analyst, role="engagement_manager").json()
    response = _as(client, world.a.users["engagement_manager"]).post(f"/api/v1/role-changes/{approval['id']}/approve/", {}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["message"]


def test_another_tenants_request_is_404(client, world):
    viewer_b = world.b.users["viewer"]
    approval = _request(client, world, by=viewer_b, target=viewer_b, role="analyst").json()
    response = _as(client, world.a.users["client_admin"]).post(f"/api/v1/role-changes/{approval['id']}/approve/", {}, content_type="application/json")
    assert response.status_code == 404


def test_unknown_role_is_400_naming_the_field(client, world):
    response = _request(client, world, by=world.a.users["viewer"], target=world.a.users["viewer"], role="overlord")
    assert response.status_code == 400
    assert "requested_role" in response.json()["error"]["fields"]


def test_list_shows_only_the_tenants_requests(client, world):
    _request(client, world, by=world.b.users["viewer"], target=world.b.users["viewer"], role="analyst")
    _request(client, world, by=world.a.users["viewer"], target=world.a.users["viewer"], role="analyst")
    body = _as(client, world.a.users["client_admin"]).get("/api/v1/role-changes/?status=PENDING").json()
    assert body["results"] and {r["client_account_id"] for r in body["results"]} == {str(world.a.id)}
