"""The factories build tenant-consistent, decryptable rows from one engagement (or client account)."""

import pytest

from modernize.platforms.encryption import secret_decrypt
from seeding.factories.platforms import (
    CredentialAccessLogFactory,
    CredentialPermissionFactory,
    CredentialRotationHistoryFactory,
    PlatformAdapterFactory,
    PlatformCredentialFactory,
)
from seeding.factories.security import RoleChangeApprovalFactory, SecurityAuditLogFactory
from tenancy.context import platform_context, tenant_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


@pytest.mark.parametrize("factory_class", [CredentialAccessLogFactory, CredentialRotationHistoryFactory, CredentialPermissionFactory])
def test_credential_children_follow_their_credential(world, factory_class):
    engagement = world.a.engagements[1]
    with tenant_context(world.a.id):
        child = factory_class(credential__engagement=engagement)
        child.full_clean()
    assert (child.client_account_id, child.engagement_id) == (world.a.id, engagement.id)
    assert (child.credential.client_account_id, child.credential.engagement_id) == (world.a.id, engagement.id)


def test_credential_factory_encrypts_a_realistic_secret(world):
    with tenant_context(world.a.id):
        credential = PlatformCredentialFactory(engagement=world.a.engagements[0], adapter_name="ServiceNow CMDB")
    assert credential.platform_adapter.adapter_name == "ServiceNow CMDB" and credential.credential_type == "oauth2"
    secret = secret_decrypt(ciphertext=credential.encrypted_secret, key_id=credential.encryption_key_id, credential_id=credential.pk)
    assert secret.startswith("client_secret=") and secret not in credential.credential_name


def test_adapter_and_security_factories(world):
    with platform_context(reason="tests: factories through the owner"):
        adapter = PlatformAdapterFactory()
        decided = RoleChangeApprovalFactory(client_account=world.a.account, status="APPROVED")
    assert adapter.status == "active" and adapter.required_credentials
    assert decided.approved_by_id not in (None, decided.requested_by_id) and decided.approved_at > decided.requested_at
    with tenant_context(world.a.id):
        event = SecurityAuditLogFactory(client_account=world.a.account)
        pending = RoleChangeApprovalFactory(
            client_account=world.a.account, requested_by=world.a.users["client_admin"], target_user=world.a.users["viewer"], current_role="viewer"
        )
    assert event.client_account_id == world.a.id and event.requires_review == event.is_suspicious
    assert (pending.status, pending.approved_by_id) == ("PENDING", None)
