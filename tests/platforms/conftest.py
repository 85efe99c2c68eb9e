import pytest

from modernize.platforms.models import CredentialAccessLog, PlatformCredential
from modernize.platforms.services import credential_permission_grant, platform_credential_create
from seeding.factories.platforms import shipped_adapter
from modernize.security.models import SecurityAuditLog
from tenancy.context import platform_context, tenant_context

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture(scope="module")
def credential(world, django_db_blocker):
    """A committed AWS credential of tenant A (engagement 1), created through the service; no grants.

    Committed (like the shared world), because refusals are recorded through the owner
    connection, whose foreign keys must see the credential; a credential written in a
    test's runtime transaction is invisible there. Each test's changes to it roll back.
    """
    with django_db_blocker.unblock():
        with platform_context(reason="tests: a committed credential of tenant A"):
            credential = platform_credential_create(
                engagement=world.a.engagements[0],
                platform_adapter=shipped_adapter("Amazon Web Services"),
                credential_name="aws-prod-discovery-readonly",
                credential_type="api_key",
                secret=SECRET,
                created_by=world.a.users["client_admin"],
            )
    yield credential
    with django_db_blocker.unblock():
        with platform_context(reason="tests: remove the committed credential"):
            CredentialAccessLog.objects.filter(credential_id=credential.pk).delete()
            SecurityAuditLog.objects.filter(details__credential_id=str(credential.pk)).delete()
            PlatformCredential.objects.filter(pk=credential.pk).delete()


@pytest.fixture
def grant(world):
    """grant(credential, permission_type, user=..., role=...) by tenant A's client admin."""

    def _grant(credential, permission_type="read", **grantee):
        with tenant_context(world.a.id):
            return credential_permission_grant(
                credential=credential, permission_type=permission_type, granted_by=world.a.users["client_admin"], **grantee
            )

    return _grant
