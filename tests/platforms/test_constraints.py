"""Every check and unique constraint of the platforms tables, and tenant-consistent references, at the database."""

import uuid
from datetime import timedelta

import pytest
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.utils import timezone

from modernize.platforms.models import (
    CredentialAccessLog,
    CredentialPermission,
    CredentialRotationHistory,
    PlatformAdapter,
    PlatformCredential,
)
from seeding.factories.platforms import (
    CredentialAccessLogFactory,
    CredentialPermissionFactory,
    CredentialRotationHistoryFactory,
    PlatformAdapterFactory,
    PlatformCredentialFactory,
)
from tenancy.context import platform_context, tenant_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def _assert_rejected(model, obj, constraint, using="default"):
    with pytest.raises(IntegrityError, match=constraint):
        with transaction.atomic(using=using):
            model.objects.using(using).bulk_create([obj])


def _assert_accepted(model, obj, using="default"):
    with transaction.atomic(using=using):
        model.objects.using(using).bulk_create([obj])


@pytest.mark.parametrize(
    "overrides, constraint",
    [
        ({"status": "retired"}, "platform_adapters_status_valid"),
        ({"adapter_type": "spreadsheet"}, "platform_adapters_type_valid"),
        ({"adapter_name": "Amazon Web Services", "version": "3.2.0"}, "platform_adapters_name_version_key"),
    ],
)
def test_platform_adapter_constraints(world, overrides, constraint):
    with platform_context(reason="tests: adapter constraints"):
        _assert_rejected(PlatformAdapter, PlatformAdapterFactory.build(**overrides), constraint, using="owner")
        _assert_accepted(PlatformAdapter, PlatformAdapterFactory.build(), using="owner")


def test_runtime_role_reads_but_cannot_write_the_registry(world):
    with tenant_context(world.a.id):
        assert PlatformAdapter.objects.filter(adapter_name="Amazon Web Services").exists()
        with pytest.raises(DatabaseError, match="permission denied"):
            with transaction.atomic():
                PlatformAdapter.objects.bulk_create([PlatformAdapterFactory.build()])


@pytest.mark.parametrize(
    "overrides, constraint",
    [
        ({"credential_type": "password"}, "platform_credentials_type_valid"),
        ({"vault_provider": "sticky_note"}, "platform_credentials_vault_provider_valid"),
        ({"status": "deleted"}, "platform_credentials_status_valid"),
        ({"encryption_key_id": ""}, "platform_credentials_key_id_present"),
    ],
)
def test_platform_credential_checks(world, overrides, constraint):
    engagement = world.a.engagements[0]
    with tenant_context(world.a.id):
        _assert_rejected(PlatformCredential, PlatformCredentialFactory.build(engagement=engagement, **overrides), constraint)
        _assert_accepted(PlatformCredential, PlatformCredentialFactory.build(engagement=engagement))


def test_credential_name_is_unique_per_client_and_adapter(world):
    with tenant_context(world.a.id):
        first = PlatformCredentialFactory(engagement=world.a.engagements[0], adapter_name="Kubernetes")
        duplicate = PlatformCredentialFactory.build(
            engagement=world.a.engagements[1], adapter_name="Kubernetes", credential_name=first.credential_name
        )
        _assert_rejected(PlatformCredential, duplicate, "platform_credentials_client_adapter_name_key")
        other_adapter = PlatformCredentialFactory.build(
            engagement=world.a.engagements[1], adapter_name="Datadog", credential_name=first.credential_name
        )
        _assert_accepted(PlatformCredential, other_adapter)
    with tenant_context(world.b.id):
        _assert_accepted(
            PlatformCredential,
            PlatformCredentialFactory.build(engagement=world.b.engagements[0], adapter_name="Kubernetes", credential_name=first.credential_name),
        )


@pytest.fixture
def stored_credential(world):
    with tenant_context(world.a.id):
        return PlatformCredentialFactory(engagement=world.a.engagements[0])


@pytest.mark.parametrize(
    "model, factory_class, overrides, constraint",
    [
        (CredentialAccessLog, CredentialAccessLogFactory, {"access_type": "copy"}, "credential_access_logs_type_valid"),
        (CredentialAccessLog, CredentialAccessLogFactory, {"success": False, "failure_reason": ""}, "credential_access_logs_failure_has_reason"),
        (CredentialRotationHistory, CredentialRotationHistoryFactory, {"rotation_type": "scheduled"}, "credential_rotation_history_type_valid"),
        (CredentialPermission, CredentialPermissionFactory, {"user": None, "role": ""}, "credential_permissions_user_or_role"),
        (CredentialPermission, CredentialPermissionFactory, {"role": "platform_admin"}, "credential_permissions_role_valid"),
        (CredentialPermission, CredentialPermissionFactory, {"permission_type": "admin"}, "credential_permissions_type_valid"),
        (
            CredentialPermission,
            CredentialPermissionFactory,
            {"expires_at": timezone.now() - timedelta(days=400)},
            "credential_permissions_expiry_after_grant",
        ),
        (
            CredentialPermission,
            CredentialPermissionFactory,
            {"revoked_at": timezone.now() - timedelta(days=400)},
            "credential_permissions_revoked_after_grant",
        ),
    ],
)
def test_credential_children_checks(world, stored_credential, model, factory_class, overrides, constraint):
    with tenant_context(world.a.id):
        _assert_rejected(model, factory_class.build(credential=stored_credential, **overrides), constraint)
        _assert_accepted(model, factory_class.build(credential=stored_credential))


@pytest.mark.parametrize("grantee", ["role", "user"])
def test_one_unrevoked_grant_per_grantee_and_permission(world, stored_credential, grantee):
    kwargs = {"role": "analyst"} if grantee == "role" else {"user": world.a.users["analyst"], "role": ""}
    with tenant_context(world.a.id):
        CredentialPermissionFactory(credential=stored_credential, **kwargs)
        _assert_rejected(
            CredentialPermission, CredentialPermissionFactory.build(credential=stored_credential, **kwargs), "credential_permissions_live_grant_key"
        )
        # A revoked grant does not count, and another permission type is another grant.
        _assert_accepted(
            CredentialPermission,
            CredentialPermissionFactory.build(
                credential=stored_credential, granted_at=timezone.now() - timedelta(days=1), revoked_at=timezone.now(), **kwargs
            ),
        )
        _assert_accepted(CredentialPermission, CredentialPermissionFactory.build(credential=stored_credential, permission_type="rotate", **kwargs))


ACCESS_LOG_INSERT = (
    "INSERT INTO credential_access_logs (id, created_at, updated_at, client_account_id, engagement_id, credential_id, "
    "access_type, purpose, success, failure_reason, accessed_at, user_agent) "
    "VALUES (%s, now(), now(), %s, %s, %s, 'decrypt', 'probe', true, '', now(), '')"
)


def _owner_insert_access_log(client_account_id, engagement_id, credential_id):
    try:
        with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
            # Foreign keys are deferred to commit; a test transaction never commits.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(ACCESS_LOG_INSERT, [uuid.uuid4(), client_account_id, engagement_id, credential_id])
    finally:
        with connections["owner"].cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_access_log_cannot_reference_another_clients_credential(world):
    """Foreign-key checks bypass RLS, so the composite key is what keeps B's rows off A's credential."""
    with platform_context(reason="tests: cross-tenant reference"):
        credential = PlatformCredentialFactory(engagement=world.a.engagements[0])
    with pytest.raises(IntegrityError, match="credential_access_logs_credential_tenant_fk"):
        _owner_insert_access_log(world.b.id, world.b.engagements[0].id, credential.id)
    # Within the client but in another engagement than the credential's: refused as well.
    with pytest.raises(IntegrityError, match="credential_access_logs_credential_tenant_fk"):
        _owner_insert_access_log(world.a.id, world.a.engagements[1].id, credential.id)
    _owner_insert_access_log(world.a.id, world.a.engagements[0].id, credential.id)
    with platform_context(reason="tests: read back"):
        assert CredentialAccessLog.objects.filter(credential_id=credential.id, purpose="probe").count() == 1


def test_credentials_are_confined_to_their_tenant(world, stored_credential):
    with tenant_context(world.a.id):
        assert PlatformCredential.objects.filter(pk=stored_credential.pk).exists()
    with tenant_context(world.b.id):
        assert not PlatformCredential.objects.filter(pk=stored_credential.pk).exists()
    assert not PlatformCredential.objects.filter(pk=stored_credential.pk).exists()
