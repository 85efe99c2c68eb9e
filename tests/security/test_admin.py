"""Role changes are decided in the admin through the services, with the same rules."""

import pytest
from django.urls import reverse

from modernize.security.models import RoleChangeApproval
from modernize.security.services import role_change_request
from tenancy.context import tenant_context
from tenancy.models import ClientMembership

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def _pending(world, requested_role):
    return role_change_request(
        requested_by=world.a.users["engagement_manager"], target_user=world.a.users["viewer"], client_account_id=world.a.id,
        requested_role=requested_role, justification="Joins the Dependency Analysis Agent review board.",
    )


def test_approve_action_applies_the_role_through_the_service(world, client):
    # Tenant A's client admin works in A's tenant context, which the test's rows share.
    client.force_login(world.a.users["client_admin"])
    url = reverse("admin:security_rolechangeapproval_changelist")
    with tenant_context(world.a.id):
        approval = _pending(world, "analyst")
        response = client.post(url, {"action": "approve_selected", "_selected_action": [str(approval.pk)]}, follow=True)
        assert response.status_code == 200
        assert RoleChangeApproval.objects.get(pk=approval.pk).status == "APPROVED"
        assert ClientMembership.objects.get(user=world.a.users["viewer"], client_account_id=world.a.id).role == "analyst"


def test_refused_decision_is_reported_not_applied(world, client):
    client.force_login(world.a.users["client_admin"])
    url = reverse("admin:security_rolechangeapproval_changelist")
    with tenant_context(world.a.id):
        approval = _pending(world, "platform_admin")
        response = client.post(url, {"action": "approve_selected", "_selected_action": [str(approval.pk)]}, follow=True)
        assert "needs a role ranked above it" in response.content.decode()
        assert RoleChangeApproval.objects.get(pk=approval.pk).status == "PENDING"


def test_audit_log_admin_is_read_only(world, client):
    client.force_login(world.platform_admin)
    assert client.get(reverse("admin:security_securityauditlog_add")).status_code == 403
    assert client.get(reverse("admin:security_rolechangeapproval_add")).status_code == 403
