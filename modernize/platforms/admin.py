"""Admin of adapters and credentials. Secrets never appear: the ciphertext field is excluded
everywhere and replaced by a masked, read-only description; credentials are created,
rotated and granted through the services, which write the access logs."""

from django.contrib import admin

from modernize.platforms.models import (
    CredentialAccessLog,
    CredentialPermission,
    CredentialRotationHistory,
    PlatformAdapter,
    PlatformCredential,
)

SECRET_MASK = "••••••••"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PlatformAdapter)
class PlatformAdapterAdmin(ReadOnlyAdmin):
    """The registry ships in data migrations; the runtime role may only read it."""

    list_display = ("adapter_name", "version", "adapter_type", "status", "updated_at")
    list_filter = ("adapter_type", "status")
    search_fields = ("adapter_name", "description")


@admin.register(PlatformCredential)
class PlatformCredentialAdmin(ReadOnlyAdmin):
    list_display = ("credential_name", "platform_adapter", "credential_type", "vault_provider", "status", "expires_at", "client_account", "engagement")
    list_filter = ("status", "credential_type", "vault_provider", "platform_adapter__adapter_type")
    search_fields = ("credential_name", "platform_adapter__adapter_name", "client_account__name")
    list_select_related = ("platform_adapter", "client_account", "engagement")
    exclude = ("encrypted_secret",)
    readonly_fields = (
        "id",
        "client_account",
        "engagement",
        "platform_adapter",
        "credential_name",
        "credential_type",
        "vault_provider",
        "secret",
        "status",
        "expires_at",
        "last_rotated_at",
        "last_validated_at",
        "created_by",
        "created_at",
        "updated_at",
    )

    @admin.display(description="secret")
    def secret(self, obj):
        return f"{SECRET_MASK} (encrypted with key {obj.encryption_key_id})"


@admin.register(CredentialAccessLog)
class CredentialAccessLogAdmin(ReadOnlyAdmin):
    list_display = ("accessed_at", "access_type", "success", "failure_reason", "user", "credential", "purpose", "ip_address")
    list_filter = ("access_type", "success")
    search_fields = ("purpose", "user__email", "credential__credential_name", "failure_reason")
    list_select_related = ("user", "credential")
    date_hierarchy = "accessed_at"
    show_full_result_count = False


@admin.register(CredentialRotationHistory)
class CredentialRotationHistoryAdmin(ReadOnlyAdmin):
    list_display = ("rotated_at", "credential", "rotation_type", "success", "rotated_by", "old_expires_at", "new_expires_at")
    list_filter = ("rotation_type", "success")
    search_fields = ("credential__credential_name", "reason", "rotated_by__email")
    list_select_related = ("credential", "rotated_by")
    date_hierarchy = "rotated_at"
    show_full_result_count = False


@admin.register(CredentialPermission)
class CredentialPermissionAdmin(ReadOnlyAdmin):
    list_display = ("credential", "permission_type", "user", "role", "granted_by", "granted_at", "expires_at", "revoked_at")
    list_filter = ("permission_type", "role")
    search_fields = ("credential__credential_name", "user__email", "granted_by__email")
    list_select_related = ("credential", "user", "granted_by")
