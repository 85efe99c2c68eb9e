"""Secrets are ciphertext at rest, keys rotate by key id, and ciphertexts stay bound to their row."""

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connections
from django.test import override_settings

from modernize.platforms.encryption import CredentialDecryptionError, CredentialKeyError, current_key_id, secret_decrypt, secret_encrypt
from modernize.platforms.models import CredentialAccessLog, PlatformCredential
from modernize.platforms.services import (
    credential_permission_grant,
    platform_credential_create,
    platform_credential_reencrypt_all,
    platform_credential_rotate,
    platform_credential_secret_reveal,
)
from seeding.factories.platforms import PlatformCredentialFactory, shipped_adapter
from tenancy.context import TenantContextError, platform_context, tenant_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

SECRET = "ServiceNow-oauth-client-secret-7f3a9c2e"
NEW_KEY = Fernet.generate_key().decode()


def _raw_row(credential_id) -> tuple[str, bytes]:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT row_to_json(c)::text, c.encrypted_secret FROM platform_credentials c WHERE c.id = %s", [credential_id])
        text, blob = cursor.fetchone()
    return text, bytes(blob)


def test_the_secret_is_not_stored_in_clear(world):
    admin = world.a.users["client_admin"]
    with tenant_context(world.a.id):
        credential = platform_credential_create(
            engagement=world.a.engagements[0], platform_adapter=shipped_adapter("ServiceNow CMDB"),
            credential_name="servicenow-cmdb-integration", credential_type="oauth2", secret=SECRET, created_by=admin,
        )
        credential_permission_grant(credential=credential, permission_type="read", granted_by=admin, user=admin)
        text, blob = _raw_row(credential.pk)
        assert SECRET not in text
        assert SECRET.encode() not in blob and SECRET.encode("utf-16-le") not in blob
        assert len(blob) > len(SECRET)
        # What is stored is the secret, encrypted: it comes back through the reveal service.
        assert platform_credential_secret_reveal(credential=credential, user=admin, purpose="verify storage") == SECRET
        # Neither the access log nor the audit trail carries it either.
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT string_agg(row_to_json(l)::text, '') FROM credential_access_logs l WHERE credential_id = %s", [credential.pk])
            logs = cursor.fetchone()[0]
            cursor.execute("SELECT string_agg(row_to_json(e)::text, '') FROM security_audit_logs e WHERE details->>'credential_id' = %s", [str(credential.pk)])
            events = cursor.fetchone()[0]
        assert "decrypt" in logs and "credential_secret_revealed" in events
        assert SECRET not in logs and SECRET not in events


def test_str_and_repr_do_not_show_the_secret(world):
    with tenant_context(world.a.id):
        credential = PlatformCredentialFactory(engagement=world.a.engagements[0], secret=SECRET)
        stored = PlatformCredential.objects.get(pk=credential.pk)
    for shown in (str(stored), repr(stored)):
        assert SECRET not in shown and stored.credential_name in shown


def test_a_ciphertext_copied_to_another_credential_does_not_decrypt(world):
    admin = world.a.users["client_admin"]
    with platform_context(reason="tests: tampering"):
        source = PlatformCredentialFactory(engagement=world.a.engagements[0], secret=SECRET)
        target = PlatformCredentialFactory(engagement=world.a.engagements[0])
        credential_permission_grant(credential=target, permission_type="read", granted_by=admin, user=admin)
        PlatformCredential.objects.filter(pk=target.pk).update(encrypted_secret=source.encrypted_secret)
        with pytest.raises(CredentialDecryptionError, match="another credential"):
            platform_credential_secret_reveal(credential=target, user=admin, purpose="probe")
        failed = CredentialAccessLog.objects.get(credential=target, success=False)
    assert failed.failure_reason == "decryption_failed"


def test_an_old_key_still_decrypts_and_reencryption_moves_every_secret_to_the_new_key(world):
    old_key_id = current_key_id()
    with platform_context(reason="tests: key rotation"):
        credentials = [PlatformCredentialFactory(engagement=t.engagements[0], secret=f"secret-of-{t.account.slug}") for t in world.tenants]
        stale_before = PlatformCredential.objects.exclude(encryption_key_id="k2").count()
    with override_settings(CREDENTIAL_ENCRYPTION_KEYS={"k2": NEW_KEY, **settings.CREDENTIAL_ENCRYPTION_KEYS}):
        assert current_key_id() == "k2"
        first = credentials[0]
        assert secret_decrypt(ciphertext=first.encrypted_secret, key_id=old_key_id, credential_id=first.pk) == "secret-of-tenant-a"

        assert platform_credential_reencrypt_all(batch_size=1) == stale_before
        with platform_context(reason="tests: read back"):
            rows = list(PlatformCredential.objects.filter(pk__in=[c.pk for c in credentials]).select_related("client_account"))
            assert not PlatformCredential.objects.exclude(encryption_key_id="k2").exists()
            assert CredentialAccessLog.objects.filter(credential__in=rows, access_type="reencrypt", success=True).count() == 2
        assert platform_credential_reencrypt_all() == 0
    # Once every secret moved, the old key can go.
    with override_settings(CREDENTIAL_ENCRYPTION_KEYS={"k2": NEW_KEY}):
        for row in rows:
            assert row.encryption_key_id == "k2"
            assert secret_decrypt(ciphertext=row.encrypted_secret, key_id="k2", credential_id=row.pk) == f"secret-of-{row.client_account.slug}"
        with pytest.raises(CredentialKeyError, match=old_key_id):
            secret_decrypt(ciphertext=first.encrypted_secret, key_id=old_key_id, credential_id=first.pk)


def test_reencryption_refuses_to_start_when_a_stored_key_is_missing(world):
    with platform_context(reason="tests: key rotation"):
        credential = PlatformCredentialFactory(engagement=world.a.engagements[0])
    with override_settings(CREDENTIAL_ENCRYPTION_KEYS={"k3": NEW_KEY}):
        with pytest.raises(CredentialKeyError, match=credential.encryption_key_id):
            platform_credential_reencrypt_all()
    with platform_context(reason="tests: read back"):
        assert PlatformCredential.objects.get(pk=credential.pk).encryption_key_id == credential.encryption_key_id


def test_reencryption_is_a_platform_job(world):
    with tenant_context(world.a.id):
        with pytest.raises(TenantContextError):
            platform_credential_reencrypt_all()


def test_rotation_encrypts_with_the_current_key(world):
    with platform_context(reason="tests: rotation under a new key"):
        credential = PlatformCredentialFactory(engagement=world.a.engagements[0])
        with override_settings(CREDENTIAL_ENCRYPTION_KEYS={"k2": NEW_KEY, **settings.CREDENTIAL_ENCRYPTION_KEYS}):
            rotated = platform_credential_rotate(credential=credential, new_secret="fresh", rotated_by=None, rotation_type="forced", reason="incident")
            assert rotated.encryption_key_id == "k2"
            assert secret_decrypt(ciphertext=rotated.encrypted_secret, key_id="k2", credential_id=credential.pk) == "fresh"


def test_an_invalid_key_is_reported_with_its_id():
    with override_settings(CREDENTIAL_ENCRYPTION_KEYS={"broken": "not-a-fernet-key"}):
        with pytest.raises(CredentialKeyError, match="broken"):
            secret_encrypt(secret="x", credential_id="00000000-0000-0000-0000-000000000000")
