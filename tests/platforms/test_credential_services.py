"""The secret reveal, rotation and permission services: access logs, audit events, refusals."""

from datetime import timedelta

import pytest
from django.db import connections
from django.test import RequestFactory
from django.utils import timezone

from modernize.platforms.models import CredentialAccessLog, CredentialPermission, CredentialRotationHistory, PlatformCredential
from modernize.platforms.services import (
    CredentialAccessDenied,
    CredentialInvalid,
    credential_permission_grant,
    credential_permission_revoke,
    platform_credential_create,
    platform_credential_rotate,
    platform_credential_secret_reveal,
)
from modernize.security.models import SecurityAuditLog
from seeding.factories.platforms import CredentialPermissionFactory, PlatformCredentialFactory, shipped_adapter
from tenancy.context import TenantContextError, platform_context, tenant_context

from .conftest import SECRET

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

PURPOSE = "Asset Inventory Agent: nightly discovery of the AWS estate"


def _reveal(world, credential, user, *, tenant=None, purpose=PURPOSE, request=None):
    with tenant_context((tenant or world.a).id, user=user):
        return platform_credential_secret_reveal(credential=credential, user=user, purpose=purpose, request=request)


def _refusal_records(credential, access_type="decrypt"):
    """Refusals are written through the owner connection (they survive the caller's rollback)."""
    with platform_context(reason="tests: read refusal records"):
        logs = list(CredentialAccessLog.objects.filter(credential_id=credential.pk, success=False, access_type=access_type))
        events = list(SecurityAuditLog.objects.filter(event_type=f"credential_{access_type}_refused", details__credential_id=str(credential.pk)))
    return logs, events


def test_reveal_returns_the_secret_and_writes_access_log_and_audit_event(world, credential, grant):
    analyst = world.a.users["analyst"]
    grant(credential, user=analyst)
    request = RequestFactory().get("/api/v1/credentials/reveal", HTTP_X_FORWARDED_FOR="198.51.100.23", HTTP_USER_AGENT="agent-runtime/1.4")
    assert _reveal(world, credential, analyst, request=request) == SECRET
    with tenant_context(world.a.id):
        log = CredentialAccessLog.objects.get(credential=credential, access_type="decrypt")
        event = SecurityAuditLog.objects.get(event_type="credential_secret_revealed", details__credential_id=str(credential.pk))
    assert (log.success, log.user_id, log.purpose, log.ip_address, log.engagement_id) == (
        True, analyst.pk, PURPOSE, "198.51.100.23", world.a.engagements[0].id,
    )
    assert event.event_category == "credential_access"
    assert (event.actor_user_id, event.client_account_id, event.engagement_id) == (analyst.pk, world.a.id, world.a.engagements[0].id)
    assert event.details["purpose"] == PURPOSE


def test_reveal_without_permission_is_refused_and_the_refusal_survives_the_rollback(world, credential):
    viewer = world.a.users["viewer"]
    with pytest.raises(CredentialAccessDenied, match="no live read permission"):
        _reveal(world, credential, viewer)
    logs, events = _refusal_records(credential)
    assert [(log.user_id, log.failure_reason, log.purpose) for log in logs] == [(viewer.pk, "no_read_permission", PURPOSE)]
    assert len(events) == 1 and events[0].requires_review and events[0].severity == "WARNING"
    assert events[0].actor_user_id == viewer.pk
    with tenant_context(world.a.id):
        assert not CredentialAccessLog.objects.filter(credential=credential, access_type="decrypt", success=True).exists()


@pytest.mark.parametrize(
    "granted_role, user_role, allowed",
    [
        ("analyst", "analyst", True),
        ("analyst", "engagement_manager", True),
        ("analyst", "client_admin", True),
        ("analyst", "viewer", False),
        ("engagement_manager", "analyst", False),
    ],
)
def test_role_grant_covers_that_role_and_the_roles_above(world, credential, grant, granted_role, user_role, allowed):
    grant(credential, role=granted_role)
    user = world.a.users[user_role]
    if allowed:
        assert _reveal(world, credential, user) == SECRET
    else:
        with pytest.raises(CredentialAccessDenied):
            _reveal(world, credential, user)


def test_user_and_role_grant_needs_both(world, credential, grant):
    grant(credential, user=world.a.users["analyst"], role="engagement_manager")
    with pytest.raises(CredentialAccessDenied):
        _reveal(world, credential, world.a.users["analyst"])
    with pytest.raises(CredentialAccessDenied):
        _reveal(world, credential, world.a.users["engagement_manager"])


def test_grant_of_another_permission_type_does_not_allow_reading(world, credential, grant):
    grant(credential, "rotate", user=world.a.users["analyst"])
    with pytest.raises(CredentialAccessDenied):
        _reveal(world, credential, world.a.users["analyst"])


def test_expired_and_revoked_grants_do_not_count(world, credential, grant):
    analyst, manager = world.a.users["analyst"], world.a.users["engagement_manager"]
    with tenant_context(world.a.id):
        past = timezone.now() - timedelta(days=30)
        CredentialPermissionFactory(credential=credential, user=analyst, role="", granted_at=past, expires_at=past + timedelta(days=1))
    with pytest.raises(CredentialAccessDenied):
        _reveal(world, credential, analyst)

    permission = grant(credential, user=manager)
    assert _reveal(world, credential, manager) == SECRET
    with tenant_context(world.a.id):
        credential_permission_revoke(permission=permission, revoked_by=world.a.users["client_admin"])
    with pytest.raises(CredentialAccessDenied):
        _reveal(world, credential, manager)


@pytest.mark.parametrize(
    "change, message, reason",
    [
        ({"status": "revoked"}, "is revoked", "credential_revoked"),
        ({"status": "expired"}, "has expired", "credential_expired"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "has expired", "credential_expired"),
    ],
)
def test_revoked_or_expired_credential_is_refused_even_with_permission(world, credential, grant, change, message, reason):
    analyst = world.a.users["analyst"]
    grant(credential, user=analyst)
    with tenant_context(world.a.id):
        PlatformCredential.objects.filter(pk=credential.pk).update(**change)
    # The caller's copy still says active: the service reads the stored row.
    assert credential.status == "active"
    with pytest.raises(CredentialAccessDenied, match=message):
        _reveal(world, credential, analyst)
    logs, events = _refusal_records(credential)
    assert [log.failure_reason for log in logs] == [reason]
    assert events[0].details["reason"] == reason


def test_another_tenants_credential_is_not_visible(world, credential, grant):
    grant(credential, user=world.a.users["analyst"])
    with pytest.raises(CredentialAccessDenied, match="not visible"):
        _reveal(world, credential, world.b.users["client_admin"], tenant=world.b)


def test_member_of_another_client_gets_nothing_from_a_role_grant(world, credential, grant):
    grant(credential, role="viewer")
    with platform_context(reason="tests: reveal as a platform job"):
        with pytest.raises(CredentialAccessDenied):
            platform_credential_secret_reveal(credential=credential, user=world.b.users["client_admin"], purpose=PURPOSE)


def test_reveal_needs_a_context_and_a_purpose(world, credential, grant):
    grant(credential, user=world.a.users["analyst"])
    with pytest.raises(TenantContextError):
        platform_credential_secret_reveal(credential=credential, user=world.a.users["analyst"], purpose=PURPOSE)
    with pytest.raises(CredentialInvalid):
        _reveal(world, credential, world.a.users["analyst"], purpose="  ")


def test_grant_needs_a_client_admin_and_a_member(world, credential):
    with tenant_context(world.a.id):
        with pytest.raises(CredentialAccessDenied, match="client admin"):
            credential_permission_grant(
                credential=credential, permission_type="read", granted_by=world.a.users["engagement_manager"], user=world.a.users["analyst"]
            )
        with pytest.raises(CredentialInvalid, match="not an active member"):
            credential_permission_grant(
                credential=credential, permission_type="read", granted_by=world.a.users["client_admin"], user=world.b.users["analyst"]
            )
        with pytest.raises(CredentialInvalid, match="not a client role"):
            credential_permission_grant(credential=credential, permission_type="read", granted_by=world.a.users["client_admin"], role="platform_admin")
        assert not CredentialPermission.objects.filter(credential=credential).exists()


def test_new_grant_replaces_the_previous_one_and_is_audited(world, credential, grant):
    analyst = world.a.users["analyst"]
    first = grant(credential, user=analyst, expires_at=timezone.now() + timedelta(days=1))
    second = grant(credential, user=analyst, expires_at=timezone.now() + timedelta(days=30))
    with tenant_context(world.a.id):
        live = CredentialPermission.objects.filter(credential=credential, revoked_at__isnull=True)
        assert list(live.values_list("pk", flat=True)) == [second.pk]
        assert CredentialPermission.objects.get(pk=first.pk).revoked_at is not None
        events = SecurityAuditLog.objects.filter(event_type="credential_permission_granted", details__credential_id=str(credential.pk))
        assert events.count() == 2
        assert events.filter(details__replaced=1, actor_user_id=world.a.users["client_admin"].pk).count() == 1


def test_manual_rotation_replaces_the_secret_and_records_history(world, credential, grant):
    manager = world.a.users["engagement_manager"]
    grant(credential, "rotate", user=manager)
    grant(credential, "read", user=manager)
    with tenant_context(world.a.id):
        PlatformCredential.objects.filter(pk=credential.pk).update(status="pending_rotation")
        old_ciphertext = bytes(PlatformCredential.objects.get(pk=credential.pk).encrypted_secret)
    new_expiry = timezone.now() + timedelta(days=90)
    with tenant_context(world.a.id):
        rotated = platform_credential_rotate(
            credential=credential, new_secret="rotated-secret-2026", rotated_by=manager, rotation_type="manual",
            reason="90-day rotation policy", new_expires_at=new_expiry,
        )
    assert (rotated.status, rotated.expires_at) == ("active", new_expiry)
    assert rotated.last_rotated_at is not None and bytes(rotated.encrypted_secret) != old_ciphertext
    assert _reveal(world, credential, manager) == "rotated-secret-2026"
    with tenant_context(world.a.id):
        history = CredentialRotationHistory.objects.get(credential=credential)
        assert CredentialAccessLog.objects.filter(credential=credential, access_type="rotate", success=True, user=manager).count() == 1
        assert SecurityAuditLog.objects.filter(event_type="credential_rotated", details__rotation_id=str(history.pk)).exists()
    assert (history.success, history.rotation_type, history.rotated_by_id) == (True, "manual", manager.pk)
    assert (history.old_expires_at, history.new_expires_at) == (credential.expires_at, new_expiry)


def test_rotation_without_permission_is_refused_with_a_failed_history_row(world, credential, grant):
    analyst = world.a.users["analyst"]
    grant(credential, "read", user=analyst)
    with pytest.raises(CredentialAccessDenied, match="no live rotate permission"):
        with tenant_context(world.a.id):
            platform_credential_rotate(credential=credential, new_secret="x", rotated_by=analyst, rotation_type="manual", reason="try")
    assert _reveal(world, credential, analyst) == SECRET
    with platform_context(reason="tests: read refusal records"):
        failed = list(CredentialRotationHistory.objects.filter(credential_id=credential.pk))
    assert [(h.success, h.rotated_by_id) for h in failed] == [(False, analyst.pk)]
    assert "rotate permission" in failed[0].error_message
    logs, events = _refusal_records(credential, "rotate")
    assert len(logs) == 1 and len(events) == 1


def test_automatic_rotation_is_a_platform_job_and_a_manual_one_names_its_user(world, credential):
    with platform_context(reason="tests: scheduled rotation job"):
        row = PlatformCredentialFactory(engagement=world.a.engagements[0], secret="before")
        rotated = platform_credential_rotate(
            credential=row, new_secret="after", rotated_by=None, rotation_type="automatic", reason="90-day rotation policy"
        )
        assert rotated.expires_at is None
        assert CredentialRotationHistory.objects.get(credential=row).rotated_by_id is None
        with pytest.raises(CredentialInvalid, match="manual rotation names the user"):
            platform_credential_rotate(credential=row, new_secret="x", rotated_by=None, rotation_type="manual", reason="r")


def test_revoked_credential_cannot_be_rotated(world, credential):
    with tenant_context(world.a.id):
        PlatformCredential.objects.filter(pk=credential.pk).update(status="revoked")
    with pytest.raises(CredentialAccessDenied, match="is revoked"):
        with tenant_context(world.a.id):
            platform_credential_rotate(credential=credential, new_secret="x", rotated_by=None, rotation_type="forced", reason="incident")


def test_create_refuses_a_deprecated_adapter_and_logs_creation(world, credential):
    with tenant_context(world.a.id):
        assert CredentialAccessLog.objects.filter(credential=credential, access_type="create", user=world.a.users["client_admin"]).count() == 1
        assert SecurityAuditLog.objects.filter(event_type="credential_created", details__credential_id=str(credential.pk)).exists()
        deprecated = shipped_adapter("VMware vCenter").__class__.objects.get(adapter_name="VMware vCenter", version="6.7.0")
        with pytest.raises(CredentialInvalid, match="deprecated"):
            platform_credential_create(
                engagement=world.a.engagements[0], platform_adapter=deprecated, credential_name="vcenter-legacy",
                credential_type="basic_auth", secret="pw",
            )


def test_the_runtime_connection_is_the_one_revealing(world, credential, grant):
    """Security tests run as the runtime role: the reveal path must not need the owner."""
    grant(credential, user=world.a.users["analyst"])
    with tenant_context(world.a.id):
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            assert cursor.fetchone() == (False, False)
        assert platform_credential_secret_reveal(credential=credential, user=world.a.users["analyst"], purpose=PURPOSE) == SECRET


def test_refusal_record_does_not_wait_for_the_lock_the_refusing_transaction_holds(world, credential):
    """The durable refusal row's foreign key locks the credential (KEY SHARE) from the owner
    connection while the rotation holds its row lock on the runtime one: the two must be
    compatible, or the request waits for itself. Checked here by making the key immediate."""
    with connections["owner"].cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL lock_timeout = '5s'")
    try:
        with pytest.raises(CredentialAccessDenied):
            with tenant_context(world.a.id):
                platform_credential_rotate(
                    credential=credential, new_secret="x", rotated_by=world.a.users["viewer"], rotation_type="manual", reason="probe"
                )
    finally:
        with connections["owner"].cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")
    logs, _ = _refusal_records(credential, "rotate")
    assert len(logs) == 1
