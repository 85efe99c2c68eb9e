"""The security audit writers: where rows go, what they flag."""

import pytest
from django.test import RequestFactory

from modernize.security.models import SecurityAuditLog
from modernize.security.services import admin_access_record, role_change_record, security_event_record, security_violation_record
from tenancy.context import platform_context, tenant_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def _event(**kwargs):
    return security_event_record(event_type=kwargs.pop("event_type", "probe"), event_category="data_access", description="probe", **kwargs)


def test_event_in_tenant_context_joins_the_tenant_transaction(world):
    with tenant_context(world.a.id):
        event = _event(event_type="pattern_export")
        assert str(event.client_account_id) == str(world.a.id)
        assert SecurityAuditLog.objects.filter(pk=event.pk).exists()
    with tenant_context(world.b.id):
        assert not SecurityAuditLog.objects.filter(pk=event.pk).exists()

    with pytest.raises(RuntimeError):
        with tenant_context(world.a.id):
            rolled_back = _event(event_type="pattern_export")
            raise RuntimeError("the change it describes failed")
    with tenant_context(world.a.id):
        assert not SecurityAuditLog.objects.filter(pk=rolled_back.pk).exists()


def test_durable_event_survives_the_rollback_of_the_tenant_transaction(world):
    with pytest.raises(PermissionError):
        with tenant_context(world.a.id):
            event = _event(event_type="export_refused", durable=True)
            raise PermissionError
    with platform_context(reason="tests: read the durable event"):
        assert SecurityAuditLog.objects.get(pk=event.pk).client_account_id == world.a.id


def test_event_outside_any_context_goes_through_the_owner(world):
    event = _event(event_type="login_failed", client_account_id=world.a.id)
    assert not SecurityAuditLog.objects.filter(pk=event.pk).exists()  # the runtime role, no tenant: nothing visible
    with platform_context(reason="tests: read back"):
        assert SecurityAuditLog.objects.filter(pk=event.pk, client_account_id=world.a.id).exists()


def test_suspicious_event_requires_review(world):
    with tenant_context(world.a.id):
        assert _event(is_suspicious=True).requires_review is True
        assert _event().requires_review is False


@pytest.mark.parametrize(
    "old, new, actor_is_target, event_type, severity, suspicious, review",
    [
        ("analyst", "client_admin", False, "role_escalation", "WARNING", False, False),
        ("analyst", "client_admin", True, "role_escalation", "WARNING", True, True),
        (None, "viewer", False, "role_escalation", "WARNING", False, False),
        ("client_admin", "viewer", False, "role_change", "INFO", False, False),
        ("client_admin", "viewer", True, "role_change", "INFO", False, False),
        ("client_admin", "platform_admin", False, "role_escalation", "CRITICAL", False, True),
    ],
)
def test_role_change_record_detects_escalation_by_rank(world, old, new, actor_is_target, event_type, severity, suspicious, review):
    target = world.a.users["analyst"]
    actor = target if actor_is_target else world.a.users["client_admin"]
    with tenant_context(world.a.id):
        event = role_change_record(actor_user_id=actor.pk, target_user_id=target.pk, client_account_id=world.a.id, old_role=old, new_role=new)
    assert (event.event_type, event.severity, event.is_suspicious, event.requires_review) == (event_type, severity, suspicious, review)
    assert event.details["escalation"] is (event_type == "role_escalation")
    assert event.event_category == "role_change"


def test_admin_access_record_keeps_the_request_origin(world):
    request = RequestFactory().post(
        "/admin/platforms/platformcredential/", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64)"
    )
    request.user = world.a.users["client_admin"]
    with tenant_context(world.a.id):
        event = admin_access_record(request=request, client_account_id=world.a.id)
        stored = SecurityAuditLog.objects.get(pk=event.pk)
    assert (stored.event_category, stored.actor_user_id, stored.ip_address) == ("admin_access", world.a.users["client_admin"].pk, "203.0.113.7")
    assert (stored.request_method, stored.request_path, stored.user_agent) == ("POST", "/admin/platforms/platformcredential/", "Mozilla/5.0 (X11; Linux x86_64)")
    assert not stored.is_suspicious


def test_security_violation_record_is_suspicious_blocked_and_for_review(world):
    request = RequestFactory().get("/api/v1/patterns/", REMOTE_ADDR="192.0.2.44")
    with tenant_context(world.a.id):
        event = security_violation_record(
            event_type="forged_tenant_header",
            description="X-Client-Account-Id names a client account the user is not a member of.",
            request=request,
            actor_user_id=world.a.users["analyst"].pk,
            client_account_id=world.a.id,
            details={"requested": str(world.b.id)},
        )
        stored = SecurityAuditLog.objects.get(pk=event.pk)
    assert (stored.event_category, stored.severity) == ("security_violation", "WARNING")
    assert (stored.is_suspicious, stored.requires_review, stored.is_blocked) == (True, True, True)
    assert (stored.ip_address, stored.details) == ("192.0.2.44", {"requested": str(world.b.id)})
