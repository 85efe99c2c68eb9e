"""Admin of the security audit trail (read-only, reviewed through the service) and of
role-change approvals (decided through the services, which audit every decision)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from modernize.security.models import RoleChangeApproval, SecurityAuditLog
from modernize.security.services import role_change_approve, role_change_reject, security_events_review
from tenancy.admin_site import ReadOnlyTenantAdmin, role_reaches
from tenancy.models import Role, User

# A user the tenant in context may not see (not a member: a platform admin, a former member).
OUTSIDE_TENANT = "(outside this client account)"


class ReviewStateFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return (("pending", "Waiting for review"), ("reviewed", "Reviewed"))

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(requires_review=True, reviewed_at__isnull=True)
        if self.value() == "reviewed":
            return queryset.filter(reviewed_at__isnull=False)
        return queryset


@admin.register(SecurityAuditLog)
class SecurityAuditLogAdmin(ReadOnlyTenantAdmin):
    """Client admins read their account's events; platform-level events (no tenant) only platform admins."""

    view_role = Role.CLIENT_ADMIN
    list_display = (
        "created_at",
        "severity",
        "event_category",
        "event_type",
        "actor_user",
        "target_user",
        "client_account",
        "request_summary",
        "is_suspicious",
        "review_state",
    )
    list_filter = (ReviewStateFilter, "severity", "event_category", "is_suspicious", "is_blocked")
    search_fields = ("event_type", "description", "=actor_user__email", "=target_user__email")
    list_select_related = ("actor_user", "target_user", "client_account")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["mark_reviewed"]

    def has_review_permission(self, request):
        return role_reaches(request, Role.CLIENT_ADMIN)

    @admin.display(description="request")
    def request_summary(self, event):
        return f"{event.request_method} {event.request_path}".strip() or "—"

    @admin.display(description="review")
    def review_state(self, event):
        if event.reviewed_at is not None:
            return f"reviewed {timezone.localtime(event.reviewed_at):%Y-%m-%d %H:%M}"
        return "pending" if event.requires_review else "—"

    @admin.action(description="Mark selected events reviewed", permissions=["review"])
    def mark_reviewed(self, request, queryset):
        outcome = security_events_review(event_ids=queryset.values_list("pk", flat=True), reviewer=request.user, request=request)
        if outcome.reviewed:
            messages.success(request, f"{outcome.reviewed} event(s) marked reviewed.")
        if outcome.own_events:
            messages.warning(request, f"{outcome.own_events} event(s) are about your own actions: another admin must review them.")
        if not outcome.reviewed and not outcome.own_events:
            messages.info(request, "None of the selected events was waiting for review.")


@admin.register(RoleChangeApproval)
class RoleChangeApprovalAdmin(ReadOnlyTenantAdmin):
    """Requests are opened by role_change_request; the admin decides them through the services.

    Engagement managers and above see the requests; the services decide who may approve
    which role (a rank above it, never the requester) and record every decision.
    """

    view_role = Role.ENGAGEMENT_MANAGER
    list_display = (
        "target",
        "current_role",
        "requested_role",
        "status",
        "requester",
        "client_account",
        "requested_at",
        "expiry",
        "approved_by",
    )
    list_filter = ("status", "requested_role")
    search_fields = ("=target_user__email", "=requested_by__email", "justification")
    # requested_by and target_user are NOT NULL: joining them (INNER JOIN) would drop every
    # request whose requester or target the tenant may not see (users are under RLS, and a
    # platform admin is nobody's member). Their emails come from sub-selects instead.
    list_select_related = ("approved_by", "client_account")
    date_hierarchy = "requested_at"
    actions = ["approve_selected", "reject_selected"]

    def get_queryset(self, request):
        def email_of(field):
            return Subquery(User.objects.filter(pk=OuterRef(field)).values("email")[:1])

        return super().get_queryset(request).annotate(target_email=email_of("target_user_id"), requester_email=email_of("requested_by_id"))

    @admin.display(description="target user", ordering="target_email")
    def target(self, approval):
        return approval.target_email or OUTSIDE_TENANT

    @admin.display(description="requested by", ordering="requester_email")
    def requester(self, approval):
        return approval.requester_email or OUTSIDE_TENANT

    def has_decide_permission(self, request):
        return role_reaches(request, Role.ENGAGEMENT_MANAGER)

    @admin.display(description="expires", ordering="expires_at")
    def expiry(self, approval):
        if approval.expires_at is None:
            return "never"
        if approval.status == "PENDING" and approval.expires_at <= timezone.now():
            return "expired"
        return f"{timezone.localtime(approval.expires_at):%Y-%m-%d %H:%M}"

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

    @admin.action(description="Approve selected role changes", permissions=["decide"])
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, role_change_approve, "Approved")

    @admin.action(description="Reject selected role changes", permissions=["decide"])
    def reject_selected(self, request, queryset):
        self._decide(request, queryset, role_change_reject, "Rejected")
