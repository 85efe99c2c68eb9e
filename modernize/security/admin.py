"""Admin of the security audit trail (read-only) and of role-change approvals (decided through the services)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from modernize.security.models import RoleChangeApproval, SecurityAuditLog
from modernize.security.services import role_change_approve, role_change_reject


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SecurityAuditLog)
class SecurityAuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "severity", "event_category", "event_type", "actor_user", "target_user", "client_account", "is_suspicious", "requires_review")
    list_filter = ("severity", "event_category", "is_suspicious", "requires_review", "is_blocked")
    search_fields = ("event_type", "description", "actor_user__email", "target_user__email", "ip_address")
    list_select_related = ("actor_user", "target_user", "client_account")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(RoleChangeApproval)
class RoleChangeApprovalAdmin(admin.ModelAdmin):
    """Requests are opened by role_change_request; the admin decides them through the services."""

    list_display = ("target_user", "current_role", "requested_role", "status", "requested_by", "client_account", "requested_at", "expires_at", "approved_by")
    list_filter = ("status", "requested_role")
    search_fields = ("target_user__email", "requested_by__email", "justification")
    list_select_related = ("target_user", "requested_by", "approved_by", "client_account")
    readonly_fields = [f.name for f in RoleChangeApproval._meta.fields]
    actions = ["approve_selected", "reject_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _decide(self, request, queryset, decide, verb):
        done = 0
        for approval in queryset:
            try:
                decide(approval=approval, approver=request.user, notes=f"{verb} in the admin", request=request)
                done += 1
            except (PermissionDenied, ValidationError) as error:
                messages.error(request, f"{approval}: {' '.join(getattr(error, 'messages', [str(error)]))}")
        if done:
            messages.success(request, f"{done} request(s) {verb.lower()}.")

    @admin.action(description="Approve selected role changes")
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, role_change_approve, "Approved")

    @admin.action(description="Reject selected role changes")
    def reject_selected(self, request, queryset):
        self._decide(request, queryset, role_change_reject, "Rejected")
