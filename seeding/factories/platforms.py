"""Factories of adapters, credentials and their access logs, rotations and permissions.

Credentials use the adapters shipped by the registry migration (the runtime role cannot
write platform_adapters); ``PlatformAdapterFactory`` adds more, through the owner only.
User references default to None so every tenant factory works inside tenant_context,
where users (a global table) cannot be created; pass committed users when you need them.
"""

from datetime import timedelta

import factory
from django.utils import timezone

from modernize.platforms.encryption import current_key_id, secret_encrypt
from modernize.platforms.models import (
    AdapterType,
    CredentialAccessLog,
    CredentialAccessType,
    CredentialPermission,
    CredentialRotationHistory,
    CredentialStatus,
    CredentialType,
    PermissionType,
    PlatformAdapter,
    PlatformCredential,
    RotationType,
    VaultProvider,
)
from seeding.factories.base import ModernizeFactory
from seeding.factories.tenancy import EngagementFactory

# Shipped adapter -> the credential a client typically keeps for it.
CREDENTIAL_PROFILES = {
    "Amazon Web Services": (CredentialType.API_KEY, ["aws-prod-discovery-readonly", "aws-migration-hub", "aws-landing-zone-deployer"]),
    "Microsoft Azure": (CredentialType.SERVICE_ACCOUNT, ["azure-migrate-spn", "azure-prod-reader", "azure-landing-zone-spn"]),
    "Google Cloud Platform": (CredentialType.SERVICE_ACCOUNT, ["gcp-asset-inventory-sa", "gcp-migrate-vm-sa"]),
    "VMware vCenter": (CredentialType.BASIC_AUTH, ["vcenter-dc1-readonly", "vcenter-dr-site-svc"]),
    "ServiceNow CMDB": (CredentialType.OAUTH2, ["servicenow-cmdb-integration", "servicenow-discovery-oauth"]),
    "Kubernetes": (CredentialType.CERTIFICATE, ["k8s-prod-cluster-viewer", "openshift-east-kubeconfig"]),
    "Oracle Database": (CredentialType.BASIC_AUTH, ["oracle-erp-awr-reader", "oracle-billing-dbsnmp"]),
    "Microsoft SQL Server": (CredentialType.BASIC_AUTH, ["mssql-crm-dmv-reader", "mssql-dwh-assessment"]),
    "SAP Solution Manager": (CredentialType.BASIC_AUTH, ["sap-solman-lmdb-reader"]),
    "Microsoft Hyper-V": (CredentialType.BASIC_AUTH, ["hyperv-cluster-winrm"]),
    "Nutanix Prism Central": (CredentialType.BASIC_AUTH, ["prism-central-readonly"]),
    "Datadog": (CredentialType.API_KEY, ["datadog-apm-service-map"]),
    "Dynatrace": (CredentialType.API_KEY, ["dynatrace-smartscape-token"]),
    "BMC Helix Discovery": (CredentialType.API_KEY, ["helix-discovery-export"]),
}


def shipped_adapter(adapter_name: str) -> PlatformAdapter:
    """The active version of a shipped adapter (the registry has one active version per name)."""
    return PlatformAdapter.objects.filter(adapter_name=adapter_name, status="active").order_by("-version").first()


def _fake_secret(credential_type: str, faker) -> str:
    if credential_type == CredentialType.API_KEY:
        return f"AKIA{faker.bothify('????????????????', letters='ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}:{faker.password(length=40, special_chars=False)}"
    if credential_type == CredentialType.OAUTH2:
        return f"client_secret={faker.sha256()[:48]}"
    if credential_type in (CredentialType.CERTIFICATE, CredentialType.SSH_KEY):
        return "-----BEGIN PRIVATE KEY-----\n" + faker.sha256() + faker.sha256() + "\n-----END PRIVATE KEY-----"
    return faker.password(length=24)


class PlatformAdapterFactory(ModernizeFactory):
    """An extra (non-shipped) adapter version; create it in platform_context."""

    class Meta:
        model = PlatformAdapter
        django_get_or_create = ("adapter_name", "version")

    adapter_name = factory.Faker("random_element", elements=["Red Hat OpenShift", "Citrix Hypervisor", "Flexera One", "Splunk", "IBM Db2"])
    adapter_type = factory.LazyAttribute(
        lambda o: {
            "Red Hat OpenShift": AdapterType.CONTAINER_PLATFORM,
            "Citrix Hypervisor": AdapterType.VIRTUALIZATION,
            "Flexera One": AdapterType.DISCOVERY_TOOL,
            "Splunk": AdapterType.OBSERVABILITY,
            "IBM Db2": AdapterType.DATABASE,
        }.get(o.adapter_name, AdapterType.DISCOVERY_TOOL)
    )
    version = factory.Sequence(lambda n: f"1.{n}.0")
    status = "active"
    description = factory.LazyAttribute(lambda o: f"{o.adapter_name} connector for estate discovery.")
    capabilities = factory.LazyFunction(lambda: ["asset_discovery", "inventory_sync", "dependency_mapping"])
    configuration_schema = factory.LazyFunction(
        lambda: {"type": "object", "properties": {"endpoint": {"type": "string", "format": "uri"}}, "required": ["endpoint"]}
    )
    supported_platforms = factory.LazyFunction(lambda: ["linux", "windows"])
    required_credentials = factory.LazyFunction(lambda: ["api_token"])


class PlatformCredentialFactory(ModernizeFactory):
    """A credential of ``engagement``'s client; ``secret=`` sets the clear secret that gets encrypted."""

    class Meta:
        model = PlatformCredential

    class Params:
        adapter_name = factory.Faker("random_element", elements=list(CREDENTIAL_PROFILES))
        secret = factory.LazyAttribute(lambda o: _fake_secret(o.credential_type, factory.Faker._get_faker()))

    engagement = factory.SubFactory(EngagementFactory)
    client_account = factory.SelfAttribute("engagement.client_account")
    platform_adapter = factory.LazyAttribute(lambda o: shipped_adapter(o.adapter_name))
    credential_type = factory.LazyAttribute(lambda o: CREDENTIAL_PROFILES[o.adapter_name][0])
    credential_name = factory.LazyAttributeSequence(
        lambda o, n: f"{CREDENTIAL_PROFILES[o.adapter_name][1][n % len(CREDENTIAL_PROFILES[o.adapter_name][1])]}-{n}"
    )
    vault_provider = factory.Faker("random_element", elements=[VaultProvider.LOCAL, VaultProvider.LOCAL, VaultProvider.HASHICORP_VAULT])
    encryption_key_id = factory.LazyFunction(current_key_id)
    encrypted_secret = factory.LazyAttribute(
        lambda o: secret_encrypt(secret=o.secret, credential_id=o.id, key_id=o.encryption_key_id)[1]
    )
    status = CredentialStatus.ACTIVE
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=90))
    last_rotated_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    last_validated_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=6))
    created_by = None


class _CredentialChildFactory(ModernizeFactory):
    class Meta:
        abstract = True

    credential = factory.SubFactory(PlatformCredentialFactory)
    engagement = factory.SelfAttribute("credential.engagement")
    client_account = factory.SelfAttribute("credential.client_account")

    @classmethod
    def _generate(cls, strategy, params):
        # `XFactory(engagement=e)` (the factories' contract) builds the credential in e.
        if "engagement" in params and "credential" not in params:
            params["credential"] = PlatformCredentialFactory(engagement=params["engagement"])
        return super()._generate(strategy, params)


class CredentialAccessLogFactory(_CredentialChildFactory):
    class Meta:
        model = CredentialAccessLog

    user = None
    access_type = factory.Faker("random_element", elements=[CredentialAccessType.DECRYPT, CredentialAccessType.VALIDATE, CredentialAccessType.READ])
    purpose = factory.Faker(
        "random_element",
        elements=[
            "Asset Inventory Agent: nightly discovery run",
            "Dependency Analysis Agent: collect network flows",
            "Six R Strategy Agent: read licence metadata",
            "Migration Wave Planner: validate target landing zone",
            "connectivity check before wave 3 cut-over",
        ],
    )
    success = True
    failure_reason = ""
    accessed_at = factory.Faker("date_time_between", start_date="-60d", end_date="now", tzinfo=timezone.get_current_timezone())
    ip_address = factory.Faker("ipv4_private")
    user_agent = "modernize-agent-runtime/1.4 (crewai)"


class CredentialRotationHistoryFactory(_CredentialChildFactory):
    class Meta:
        model = CredentialRotationHistory

    rotation_type = factory.Faker("random_element", elements=[RotationType.AUTOMATIC, RotationType.AUTOMATIC, RotationType.FORCED])
    rotated_at = factory.Faker("date_time_between", start_date="-180d", end_date="-1d", tzinfo=timezone.get_current_timezone())
    old_expires_at = factory.LazyAttribute(lambda o: o.rotated_at + timedelta(days=2))
    new_expires_at = factory.LazyAttribute(lambda o: o.rotated_at + timedelta(days=90))
    reason = factory.Faker(
        "random_element",
        elements=["90-day rotation policy", "key exposed in a CI log, rotated as a precaution", "owner left the project", "vendor-mandated rotation"],
    )
    rotated_by = None
    success = True
    error_message = ""


class CredentialPermissionFactory(_CredentialChildFactory):
    """A role grant by default (role=engagement_manager); pass ``user=`` for a user grant."""

    class Meta:
        model = CredentialPermission

    user = None
    role = "engagement_manager"
    permission_type = PermissionType.READ
    granted_by = None
    granted_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.granted_at + timedelta(days=180))
    revoked_at = None
