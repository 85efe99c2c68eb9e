"""Role-change approvals: who may decide (rank rules), what approval changes, what the audit trail says."""

from datetime import timedelta

import pytest
from django.utils import timezone

from modernize.security.models import RoleChangeApproval, SecurityAuditLog
from modernize.security.services import (
    RoleChangeInvalid,
    RoleChangeNotAllowed,
    role_change_approve,
    role_change_reject,
    role_change_request,
)
from seeding.factories.security import RoleChangeApprovalFactory
from tenancy.context import TenantContextError, platform_context, tenant_context
from tenancy.models import ClientMembership, User

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

WHY = "Leads wave 2 planning for the SAP estate and signs off the Migration Wave Planner output."


def _request(world, *, requested_by, target, role, tenant=None):
    tenant = tenant or world.a
    return role_change_request(requested_by=requested_by, target_user=target, client_account_id=tenant.id, requested_role=role, justification=WHY)


def _role(user, tenant):
    return ClientMembership.objects.get(user=user, client_account_id=tenant.id).role


def test_request_is_pending_with_the_current_role_and_audited(world):
    manager, viewer = world.a.users["engagement_manager"], world.a.users["viewer"]
    with tenant_context(world.a.id):
        approval = _request(world, requested_by=manager, target=viewer, role="analyst")
        event = SecurityAuditLog.objects.get(event_type="role_change_requested", details__approval_id=str(approval.pk))
    assert (approval.status, approval.current_role, approval.requested_role) == ("PENDING", "viewer", "analyst")
    assert approval.expires_at - approval.requested_at == timedelta(days=7)
    assert (event.event_category, event.actor_user_id, event.target_user_id, event.client_account_id) == (
        "role_change", manager.pk, viewer.pk, world.a.id,
    )


@pytest.mark.parametrize(
    "approver_role, requested_role, allowed",
    [
        ("engagement_manager", "analyst", True),
        ("client_admin", "engagement_manager", True),
        ("client_admin", "analyst", True),
        ("engagement_manager", "engagement_manager", False),
        ("analyst", "analyst", False),
        ("client_admin", "client_admin", False),
        ("viewer", "analyst", False),
    ],
)
def test_only_a_higher_rank_in_the_client_account_may_approve(world, approver_role, requested_role, allowed):
    viewer, approver = world.a.users["viewer"], world.a.users[approver_role]
    with tenant_context(world.a.id):
        approval = _request(world, requested_by=world.platform_admin, target=viewer, role=requested_role)
        if allowed:
            decided = role_change_approve(approval=approval, approver=approver, notes="staffing confirmed")
            assert (decided.status, decided.approved_by_id, decided.notes) == ("APPROVED", approver.pk, "staffing confirmed")
            assert _role(viewer, world.a) == requested_role
        else:
            with pytest.raises(RoleChangeNotAllowed, match="ranked above"):
                role_change_approve(approval=approval, approver=approver)
            assert _role(viewer, world.a) == "viewer"
            assert RoleChangeApproval.objects.get(pk=approval.pk).status == "PENDING"
    if not allowed:
        with platform_context(reason="tests: read the durable refusal"):
            refusal = SecurityAuditLog.objects.get(event_type="role_change_decision_refused", details__approval_id=str(approval.pk))
        assert (refusal.actor_user_id, refusal.requires_review, refusal.event_category) == (approver.pk, True, "authorization")


def test_the_same_rank_rules_apply_to_rejection(world):
    viewer = world.a.users["viewer"]
    with tenant_context(world.a.id):
        approval = _request(world, requested_by=world.platform_admin, target=viewer, role="engagement_manager")
        with pytest.raises(RoleChangeNotAllowed):
            role_change_reject(approval=approval, approver=world.a.users["engagement_manager"])
        rejected = role_change_reject(approval=approval, approver=world.a.users["client_admin"], notes="not staffed on SAP")
        event = SecurityAuditLog.objects.get(event_type="role_change_rejected", details__approval_id=str(approval.pk))
        assert _role(viewer, world.a) == "viewer"
    assert (rejected.status, rejected.approved_by_id) == ("REJECTED", world.a.users["client_admin"].pk)
    assert event.actor_user_id == world.a.users["client_admin"].pk


def test_approval_of_an_escalation_is_flagged_in_the_audit_trail(world):
    analyst, admin = world.a.users["analyst"], world.a.users["client_admin"]
    with tenant_context(world.a.id):
        approval = _request(world, requested_by=world.a.users["engagement_manager"], target=analyst, role="engagement_manager")
        role_change_approve(approval=approval, approver=admin)
        event = SecurityAuditLog.objects.get(event_type="role_escalation", details__approval_id=str(approval.pk))
    assert (event.event_type, event.severity, event.is_suspicious, event.requires_review) == ("role_escalation", "WARNING", False, False)
    assert event.details == {"old_role": "analyst", "new_role": "engagement_manager", "escalation": True, "approval_id": str(approval.pk)}
    assert (event.actor_user_id, event.target_user_id) == (admin.pk, analyst.pk)


def test_approved_downgrade_is_a_plain_role_change(world):
    manager = world.a.users["engagement_manager"]
    with tenant_context(world.a.id):
        approval = _request(world, requested_by=world.a.users["client_admin"], target=manager, role="viewer")
        role_change_approve(approval=approval, approver=world.platform_admin)
        event = SecurityAuditLog.objects.get(event_type="role_change", details__approval_id=str(approval.pk))
        assert _role(manager, world.a) == "viewer"
    assert (event.severity, event.details["escalation"]) == ("INFO", False)


def test_platform_admin_may_decide_client_admin_requests(world):
    manager = world.a.users["engagement_manager"]
    with tenant_context(world.a.id):
        approval = _request(world, requested_by=world.a.users["client_admin"], target=manager, role="client_admin")
        with pytest.raises(RoleChangeNotAllowed):
            role_change_approve(approval=approval, approver=world.a.users["client_admin"])
        role_change_approve(approval=approval, approver=world.platform_admin)
        assert _role(manager, world.a) == "client_admin"


def test_another_clients_admin_cannot_decide(world):
    with tenant_context(world.a.id):
        approval = _request(world, requested_by=world.a.users["client_admin"], target=world.a.users["viewer"], role="analyst")
        with pytest.raises(RoleChangeNotAllowed, match="you hold none"):
            role_change_approve(approval=approval, approver=world.b.users["client_admin"])


def test_the_requester_cannot_decide_their_own_request(world):
    admin = world.a.users["client_admin"]
    with tenant_context(world.a.id):
        approval = _request(world, requested_by=admin, target=world.a.users["viewer"], role="analyst")
        with pytest.raises(RoleChangeNotAllowed, match="requester cannot decide"):
            role_change_approve(approval=approval, approver=admin)


def test_expired_requests_cannot_be_approved_but_can_be_rejected(world):
    admin = world.a.users["client_admin"]
    with tenant_context(world.a.id):
        long_ago = timezone.now() - timedelta(days=10)
        approval = RoleChangeApprovalFactory(
            client_account=world.a.account, requested_by=world.platform_admin, target_user=world.a.users["viewer"],
            current_role="viewer", requested_role="analyst", requested_at=long_ago, expires_at=long_ago + timedelta(days=7),
        )
        with pytest.raises(RoleChangeInvalid, match="expired"):
            role_change_approve(approval=approval, approver=admin)
        assert _role(world.a.users["viewer"], world.a) == "viewer"
        assert role_change_reject(approval=approval, approver=admin, notes="stale").status == "REJECTED"


def test_a_decided_request_cannot_be_decided_again(world):
    with tenant_context(world.a.id):
        approval = _request(world, requested_by=world.platform_admin, target=world.a.users["viewer"], role="analyst")
        role_change_approve(approval=approval, approver=world.a.users["client_admin"])
        with pytest.raises(RoleChangeInvalid, match="already approved"):
            role_change_reject(approval=approval, approver=world.a.users["client_admin"])


def test_platform_admin_role_needs_platform_context_and_is_critical(world):
    manager = world.a.users["engagement_manager"]
    with tenant_context(world.a.id):
        approval = _request(world, requested_by=world.a.users["client_admin"], target=manager, role="platform_admin")
        with pytest.raises(RoleChangeNotAllowed):
            role_change_approve(approval=approval, approver=world.a.users["client_admin"])
        with pytest.raises(RoleChangeInvalid, match="platform_context"):
            role_change_approve(approval=approval, approver=world.platform_admin)
        assert RoleChangeApproval.objects.get(pk=approval.pk).status == "PENDING"

    with platform_context(reason="tests: grant platform_admin", actor=world.platform_admin):
        approval = _request(world, requested_by=world.a.users["client_admin"], target=manager, role="platform_admin")
        role_change_approve(approval=approval, approver=world.platform_admin, notes="on-call rotation")
        assert User.objects.get(pk=manager.pk).is_platform_admin
        event = SecurityAuditLog.objects.get(event_type="role_escalation", details__approval_id=str(approval.pk))
    assert (event.severity, event.requires_review) == ("CRITICAL", True)
    assert event.details["old_role"] == "engagement_manager" and event.details["new_role"] == "platform_admin"
    with tenant_context(world.a.id):
        assert not User.objects.get(pk=manager.pk).is_platform_admin  # the runtime connection never saw the owner's change


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"role": "superuser"}, RoleChangeInvalid, "is not a role"),
        ({"role": "viewer"}, RoleChangeInvalid, "already holds"),
        ({"role": "analyst", "requested_by": "b_admin"}, RoleChangeNotAllowed, "Only a member"),
        ({"role": "analyst", "justification": " "}, RoleChangeInvalid, "justification"),
    ],
)
def test_request_validation(world, kwargs, error, message):
    requested_by = world.b.users["client_admin"] if kwargs.get("requested_by") == "b_admin" else world.a.users["client_admin"]
    with tenant_context(world.a.id):
        with pytest.raises(error, match=message):
            role_change_request(
                requested_by=requested_by, target_user=world.a.users["viewer"], client_account_id=world.a.id,
                requested_role=kwargs["role"], justification=kwargs.get("justification", WHY),
            )
        assert not RoleChangeApproval.objects.exists()


def test_one_pending_request_per_target(world):
    with tenant_context(world.a.id):
        _request(world, requested_by=world.a.users["client_admin"], target=world.a.users["viewer"], role="analyst")
        with pytest.raises(RoleChangeInvalid, match="pending"):
            _request(world, requested_by=world.a.users["engagement_manager"], target=world.a.users["viewer"], role="engagement_manager")


def test_role_change_services_need_the_matching_context(world):
    with pytest.raises(TenantContextError):
        _request(world, requested_by=world.a.users["client_admin"], target=world.a.users["viewer"], role="analyst")
    with tenant_context(world.b.id):
        with pytest.raises(TenantContextError):
            _request(world, requested_by=world.a.users["client_admin"], target=world.a.users["viewer"], role="analyst")
