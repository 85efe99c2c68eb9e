"""Platform adapters (a global registry) and the credentials a client keeps for them.

A credential's secret is stored only as Fernet ciphertext (``encrypted_secret``) next to
the id of the key that encrypted it; ``services.platform_credential_secret_reveal`` is
the one way back to clear text. Nothing on these models (str, repr, admin) shows it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenancy.constraints import TenantForeignKey
from tenancy.models import CLIENT_ROLES, TenantModel, TimestampedModel


class AdapterType(models.TextChoices):
    CLOUD_PROVIDER = "cloud_provider"
    VIRTUALIZATION = "virtualization"
    CMDB = "cmdb"
    CONTAINER_PLATFORM = "container_platform"
    DATABASE = "database"
    ERP = "erp"
    OBSERVABILITY = "observability"
    MAINFRAME = "mainframe"
    DISCOVERY_TOOL = "discovery_tool"


class AdapterStatus(models.TextChoices):
    ACTIVE = "active"
    INACTIVE = "inactive"
    ERROR = "error"
    DEPRECATED = "deprecated"


class PlatformAdapter(TimestampedModel):
    """One version of a connector to a source or target platform (global, read-only at runtime)."""

    adapter_name = models.CharField(max_length=100)
    adapter_type = models.CharField(max_length=30, choices=AdapterType.choices)
    version = models.CharField(max_length=30)
    status = models.CharField(max_length=20, choices=AdapterStatus.choices, default=AdapterStatus.ACTIVE)
    description = models.TextField(blank=True)
    capabilities = models.JSONField(default=list, blank=True)
    configuration_schema = models.JSONField(default=dict, blank=True)
    supported_platforms = models.JSONField(default=list, blank=True)
    required_credentials = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "platform_adapters"
        ordering = ["adapter_name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["adapter_name", "version"], name="platform_adapters_name_version_key"),
            models.CheckConstraint(condition=Q(status__in=AdapterStatus.values), name="platform_adapters_status_valid"),
            models.CheckConstraint(condition=Q(adapter_type__in=AdapterType.values), name="platform_adapters_type_valid"),
        ]

    def __str__(self):
        return f"{self.adapter_name} {self.version}"


class CredentialType(models.TextChoices):
    API_KEY = "api_key"
    OAUTH2 = "oauth2"
    BASIC_AUTH = "basic_auth"
    SERVICE_ACCOUNT = "service_account"
    CERTIFICATE = "certificate"
    SSH_KEY = "ssh_key"
    CUSTOM = "custom"


class VaultProvider(models.TextChoices):
    LOCAL = "local", "Local (encrypted in this database)"
    AWS_SECRETS_MANAGER = "aws_secrets_manager", "AWS Secrets Manager"
    AZURE_KEY_VAULT = "azure_key_vault", "Azure Key Vault"
    HASHICORP_VAULT = "hashicorp_vault", "HashiCorp Vault"
    GCP_SECRET_MANAGER = "gcp_secret_manager", "GCP Secret Manager"


class CredentialStatus(models.TextChoices):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    PENDING_ROTATION = "pending_rotation"


class PlatformCredential(TenantModel):
    """A client's credential for one adapter; the secret is ciphertext only.

    With an external ``vault_provider`` the encrypted value is the vault reference (ARN,
    path), which reveals the client's topology and so is encrypted all the same.
    """

    platform_adapter = models.ForeignKey(PlatformAdapter, on_delete=models.PROTECT, related_name="credentials")
    credential_name = models.CharField(max_length=255)
    credential_type = models.CharField(max_length=30, choices=CredentialType.choices)
    vault_provider = models.CharField(max_length=30, choices=VaultProvider.choices, default=VaultProvider.LOCAL)
    encrypted_secret = models.BinaryField(editable=False)
    encryption_key_id = models.CharField(max_length=64, editable=False)
    status = models.CharField(max_length=20, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_rotated_at = models.DateTimeField(null=True, blank=True)
    last_validated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "platform_credentials"
        ordering = ["client_account_id", "credential_name"]
        constraints = TenantModel.Meta.constraints + [
            models.UniqueConstraint(fields=["id", "client_account"], name="platform_credentials_id_tenant_key"),
            # Target of the children's composite key: they stay in the credential's engagement.
            models.UniqueConstraint(
                fields=["id", "client_account", "engagement"], name="platform_credentials_id_engagement_key"
            ),
            models.UniqueConstraint(
                fields=["client_account", "platform_adapter", "credential_name"], name="platform_credentials_client_adapter_name_key"
            ),
            models.CheckConstraint(condition=Q(credential_type__in=CredentialType.values), name="platform_credentials_type_valid"),
            models.CheckConstraint(condition=Q(vault_provider__in=VaultProvider.values), name="platform_credentials_vault_provider_valid"),
            models.CheckConstraint(condition=Q(status__in=CredentialStatus.values), name="platform_credentials_status_valid"),
            # A row without its key id could never be decrypted again.
            models.CheckConstraint(condition=~Q(encryption_key_id=""), name="platform_credentials_key_id_present"),
        ]
        indexes = [
            models.Index(fields=["client_account", "status"], name="platform_cred_status_idx"),
            models.Index(fields=["expires_at"], condition=Q(status="active"), name="platform_cred_expiry_idx"),
            models.Index(fields=["encryption_key_id"], name="platform_cred_key_idx"),
        ]

    def __str__(self):
        return f"{self.credential_name} ({self.credential_type})"


def _credential_constraint(table: str) -> TenantForeignKey:
    return TenantForeignKey(field="credential", name=f"{table}_credential_tenant_fk", columns=("client_account", "engagement"))


class CredentialAccessType(models.TextChoices):
    CREATE = "create"
    READ = "read"
    DECRYPT = "decrypt"
    VALIDATE = "validate"
    ROTATE = "rotate"
    REENCRYPT = "reencrypt"
    REVOKE = "revoke"


class CredentialAccessLog(TenantModel):
    """One access to a credential, granted or refused."""

    credential = models.ForeignKey(PlatformCredential, on_delete=models.RESTRICT, related_name="access_logs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    access_type = models.CharField(max_length=20, choices=CredentialAccessType.choices)
    purpose = models.CharField(max_length=255, blank=True)
    success = models.BooleanField()
    failure_reason = models.CharField(max_length=255, blank=True)
    accessed_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)

    class Meta:
        db_table = "credential_access_logs"
        ordering = ["-accessed_at"]
        constraints = TenantModel.Meta.constraints + [
            _credential_constraint("credential_access_logs"),
            models.CheckConstraint(condition=Q(access_type__in=CredentialAccessType.values), name="credential_access_logs_type_valid"),
            models.CheckConstraint(condition=Q(success=True) | ~Q(failure_reason=""), name="credential_access_logs_failure_has_reason"),
        ]
        indexes = [
            models.Index(fields=["credential", "-accessed_at"], name="cred_access_cred_time_idx"),
            models.Index(fields=["client_account", "-accessed_at"], name="cred_access_client_time_idx"),
        ]

    def __str__(self):
        return f"{self.access_type} {'ok' if self.success else 'refused'} {self.credential_id}"


class RotationType(models.TextChoices):
    MANUAL = "manual"
    AUTOMATIC = "automatic"
    FORCED = "forced"


class CredentialRotationHistory(TenantModel):
    """One rotation (or attempted rotation) of a credential's secret."""

    credential = models.ForeignKey(PlatformCredential, on_delete=models.RESTRICT, related_name="rotations")
    rotation_type = models.CharField(max_length=20, choices=RotationType.choices)
    old_expires_at = models.DateTimeField(null=True, blank=True)
    new_expires_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    rotated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rotated_at = models.DateTimeField()
    success = models.BooleanField()
    error_message = models.TextField(blank=True)

    class Meta:
        db_table = "credential_rotation_history"
        ordering = ["-rotated_at"]
        verbose_name_plural = "credential rotation history"
        constraints = TenantModel.Meta.constraints + [
            _credential_constraint("credential_rotation_history"),
            models.CheckConstraint(condition=Q(rotation_type__in=RotationType.values), name="credential_rotation_history_type_valid"),
        ]
        indexes = [models.Index(fields=["credential", "-rotated_at"], name="cred_rotation_cred_time_idx")]

    def __str__(self):
        return f"{self.rotation_type} rotation of {self.credential_id} at {self.rotated_at:%Y-%m-%d %H:%M}"


class PermissionType(models.TextChoices):
    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    ROTATE = "rotate"


class CredentialPermission(TenantModel):
    """A grant on one credential to a user, to a client role (and above), or to a user holding a role.

    A grant is live while it is not revoked and not past ``expires_at``.
    """

    credential = models.ForeignKey(PlatformCredential, on_delete=models.CASCADE, related_name="permissions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=30, blank=True, choices=[(r.value, r.label) for r in CLIENT_ROLES])
    permission_type = models.CharField(max_length=10, choices=PermissionType.choices)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "credential_permissions"
        ordering = ["credential_id", "permission_type"]
        constraints = TenantModel.Meta.constraints + [
            _credential_constraint("credential_permissions"),
            models.CheckConstraint(condition=Q(user__isnull=False) | ~Q(role=""), name="credential_permissions_user_or_role"),
            models.CheckConstraint(
                condition=Q(role="") | Q(role__in=[r.value for r in CLIENT_ROLES]), name="credential_permissions_role_valid"
            ),
            models.CheckConstraint(condition=Q(permission_type__in=PermissionType.values), name="credential_permissions_type_valid"),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("granted_at")), name="credential_permissions_expiry_after_grant"
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=models.F("granted_at")), name="credential_permissions_revoked_after_grant"
            ),
            # One unrevoked grant per grantee and permission; NULLS NOT DISTINCT makes a
            # role-only grant (user NULL) unique too.
            models.UniqueConstraint(
                fields=["credential", "user", "role", "permission_type"],
                condition=Q(revoked_at__isnull=True),
                nulls_distinct=False,
                name="credential_permissions_live_grant_key",
            ),
        ]
        indexes = [models.Index(fields=["credential", "permission_type"], name="cred_perm_cred_type_idx")]

    def __str__(self):
        grantee = " ".join(filter(None, [str(self.user_id or ""), self.role]))
        return f"{self.permission_type} on {self.credential_id} to {grantee}"
