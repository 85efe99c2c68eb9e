"""Admin of adapters and credentials. Secrets never appear: the ciphertext field is excluded
everywhere and replaced by a masked, read-only description; credentials are created and
granted through the services, and rotated here only through platform_credential_rotate,
which writes the rotation history, the access log and the audit event."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from modernize.platforms.models import (
    CredentialAccessLog,
    CredentialPermission,
    CredentialRotationHistory,
    PlatformAdapter,
    PlatformCredential,
    RotationType,
)
from modernize.platforms.services import CredentialAccessDenied, CredentialInvalid, platform_credential_rotate
from tenancy.admin_site import GlobalReferenceAdmin, ReadOnlyTenantAdmin, is_platform_request, role_reaches
from tenancy.models import Role

SECRET_MASK = "••••••••"


def _days_until(moment) -> str:
    if moment is None:
        return "never"
    days = (moment - timezone.now()).days
    return "expired" if moment <= timezone.now() else f"in {days} day{'s' if days != 1 else ''}"


@admin.register(PlatformAdapter)
class PlatformAdapterAdmin(GlobalReferenceAdmin):
    """The registry ships in data migrations; only platform admins (owner connection) change it."""

    list_display = ("adapter_name", "version", "adapter_type", "status", "updated_at")
    list_filter = ("adapter_type", "status")
    search_fields = ("adapter_name", "description")
    readonly_fields = ("id", "created_at", "updated_at")


class CredentialRotationForm(forms.Form):
    new_secret = forms.CharField(label="New secret", strip=False, widget=forms.PasswordInput(render_value=False))
    new_expires_at = forms.DateTimeField(
        label="New expiry", required=False, help_text="Empty: the credential does not expire.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


@admin.register(PlatformCredential)
class PlatformCredentialAdmin(ReadOnlyTenantAdmin):
    list_display = ("credential_name", "platform_adapter", "credential_type", "vault_provider", "status", "expiry", "last_rotated_at", "client_account", "engagement")
    list_filter = ("status", "credential_type", "vault_provider", "platform_adapter__adapter_type")
    search_fields = ("credential_name", "platform_adapter__adapter_name")
    list_select_related = ("platform_adapter", "client_account", "engagement")
    exclude = ("encrypted_secret",)
    fields = readonly_fields = (
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
        "expiry",
        "last_rotated_at",
        "last_validated_at",
        "created_by",
        "created_at",
        "updated_at",
    )
    change_form_template = "admin/platforms/platformcredential/change_form.html"
    actions = ["rotate_secret"]

    @admin.display(description="secret")
    def secret(self, obj):
        return f"{SECRET_MASK} (encrypted with key {obj.encryption_key_id})"

    @admin.display(description="expires", ordering="expires_at")
    def expiry(self, obj):
        return _days_until(obj.expires_at)

    def has_rotate_permission(self, request, obj=None):
        # The admin offers it to every role that may write; the service then requires a
        # live rotate grant of a person (platform admins rotate as a forced platform job).
        return role_reaches(request, Role.ANALYST)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/rotate/", self.admin_site.admin_view(self.rotate_view), name="%s_%s_rotate" % info),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_rotate": self.has_rotate_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Rotate the secret of the selected credential", permissions=["rotate"])
    def rotate_secret(self, request, queryset):
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            messages.warning(request, "Rotate one credential at a time: each needs its own new secret.")
            return None
        return HttpResponseRedirect(reverse("admin:platforms_platformcredential_rotate", args=[quote(chosen[0].pk)]))

    def rotate_view(self, request, object_id):
        """Ask for the new secret and rotate through platform_credential_rotate."""
        credential = self.get_object(request, unquote(object_id))
        if credential is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_rotate_permission(request, credential):
            raise PermissionDenied
        platform = is_platform_request(request)
        change_url = reverse("admin:platforms_platformcredential_change", args=[quote(credential.pk)])
        form = CredentialRotationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            reason = form.cleaned_data["reason"].strip()
            try:
                platform_credential_rotate(
                    credential=credential,
                    new_secret=form.cleaned_data["new_secret"],
                    # A platform admin holds no grant in the tenant: theirs is a forced
                    # rotation, a platform job, and the reason names them.
                    rotated_by=None if platform else request.user,
                    rotation_type=RotationType.FORCED if platform else RotationType.MANUAL,
                    reason=f"{reason} (platform admin {request.user.email})" if platform else reason,
                    new_expires_at=form.cleaned_data["new_expires_at"],
                    request=request,
                )
            except CredentialAccessDenied as error:
                messages.error(request, str(error))
                return HttpResponseRedirect(change_url)
            except CredentialInvalid as error:
                form.add_error(None, error)
            else:
                self.log_change(request, credential, "Rotated the secret.")
                messages.success(request, f"The secret of {credential.credential_name} was rotated; the rotation is in its history.")
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": credential,
            "form": form,
            "title": f"Rotate the secret of {credential.credential_name}",
            "platform_rotation": platform,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/platforms/platformcredential/rotate.html", context)


@admin.register(CredentialAccessLog)
class CredentialAccessLogAdmin(ReadOnlyTenantAdmin):
    view_role = Role.ENGAGEMENT_MANAGER
    list_display = ("accessed_at", "access_type", "success", "failure_reason", "user", "credential", "purpose", "ip_address", "client_account")
    list_filter = ("access_type", "success")
    search_fields = ("purpose", "=user__email", "credential__credential_name", "failure_reason")
    list_select_related = ("user", "credential", "client_account")
    date_hierarchy = "accessed_at"
    show_full_result_count = False


@admin.register(CredentialRotationHistory)
class CredentialRotationHistoryAdmin(ReadOnlyTenantAdmin):
    list_display = ("rotated_at", "credential", "rotation_type", "success", "rotated_by", "old_expires_at", "new_expires_at", "validity_gained", "client_account")
    list_filter = ("rotation_type", "success")
    search_fields = ("credential__credential_name", "reason", "=rotated_by__email")
    list_select_related = ("credential", "rotated_by", "client_account")
    date_hierarchy = "rotated_at"
    show_full_result_count = False

    @admin.display(description="validity gained")
    def validity_gained(self, rotation):
        if rotation.new_expires_at is None:
            return "no expiry"
        if rotation.old_expires_at is None:
            return "—"
        return f"{(rotation.new_expires_at - rotation.old_expires_at).days} days"


@admin.register(CredentialPermission)
class CredentialPermissionAdmin(ReadOnlyTenantAdmin):
    """Grants are made and revoked through the services (credential_permission_grant/revoke)."""

    list_display = ("credential", "permission_type", "user", "role", "granted_by", "granted_at", "expires_at", "revoked_at", "is_live", "client_account")
    list_filter = ("permission_type", "role")
    search_fields = ("credential__credential_name", "=user__email", "=granted_by__email")
    list_select_related = ("credential", "user", "granted_by", "client_account")

    @admin.display(boolean=True, description="live")
    def is_live(self, permission):
        now = timezone.now()
        return permission.revoked_at is None and (permission.expires_at is None or permission.expires_at > now)
