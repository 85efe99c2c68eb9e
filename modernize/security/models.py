"""Security audit trail and role-change approvals."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenancy.constraints import TenantForeignKey
from tenancy.models import CLIENT_ROLES, ClientScopedModel, Role, TimestampedModel


class AuditCategory(models.TextChoices):
    AUTHENTICATION = "authentication"
    AUTHORIZATION = "authorization"
    ROLE_CHANGE = "role_change"
    ADMIN_ACCESS = "admin_access"
    PLATFORM_ACCESS = "platform_access"
    CREDENTIAL_ACCESS = "credential_access"
    DATA_ACCESS = "data_access"
    SECURITY_VIOLATION = "security_violation"


class Severity(models.TextChoices):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class SecurityAuditLog(TimestampedModel):
    """One security event. Tenant columns are null for platform-level events."""

    Category = AuditCategory
    Severity = Severity

    client_account = models.ForeignKey("tenancy.ClientAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    engagement = models.ForeignKey("tenancy.Engagement", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=100)
    event_category = models.CharField(max_length=50, choices=AuditCategory.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    request_path = models.CharField(max_length=500, blank=True)
    request_method = models.CharField(max_length=10, blank=True)
    description = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    is_suspicious = models.BooleanField(default=False)
    requires_review = models.BooleanField(default=False)
    is_blocked = models.BooleanField(default=False)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "security_audit_logs"
        ordering = ["-created_at"]
        constraints = [
            TenantForeignKey(field="engagement", name="security_audit_logs_engagement_tenant_fk"),
            models.CheckConstraint(condition=Q(severity__in=["INFO", "WARNING", "CRITICAL"]), name="security_audit_logs_severity_valid"),
            models.CheckConstraint(
                condition=Q(event_category__in=[c.value for c in AuditCategory]), name="security_audit_logs_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(reviewed_at__isnull=True) | Q(reviewed_by__isnull=False), name="security_audit_logs_review_has_reviewer"
            ),
            # An engagement-level event must name its client account.
            models.CheckConstraint(
                condition=Q(engagement__isnull=True) | Q(client_account__isnull=False), name="security_audit_logs_engagement_needs_client"
            ),
        ]
        indexes = [
            models.Index(fields=["client_account", "-created_at"], name="sec_audit_client_time_idx"),
            models.Index(fields=["event_category", "-created_at"], name="sec_audit_category_time_idx"),
            models.Index(fields=["client_account", "created_at"], condition=Q(is_suspicious=True), name="sec_audit_suspicious_idx"),
        ]

    def __str__(self):
        return f"{self.severity} {self.event_type}"


class ApprovalStatus(models.TextChoices):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class RoleChangeApproval(ClientScopedModel):
    Status = ApprovalStatus


    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    target_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    current_role = models.CharField(max_length=30, blank=True)
    requested_role = models.CharField(max_length=30)
    justification = models.TextField()
    status = models.CharField(max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "role_change_approvals"
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["PENDING", "APPROVED", "REJECTED"]), name="role_change_approvals_status_valid"),
            models.CheckConstraint(condition=Q(requested_role__in=[r.value for r in Role]), name="role_change_approvals_requested_role_valid"),
            models.CheckConstraint(
                condition=Q(current_role="") | Q(current_role__in=[r.value for r in CLIENT_ROLES]),
                name="role_change_approvals_current_role_valid",
            ),
            # A decided request names who decided and when; a pending one does not.
            models.CheckConstraint(
                condition=(Q(status="PENDING") & Q(approved_by__isnull=True) & Q(approved_at__isnull=True))
                | (~Q(status="PENDING") & Q(approved_by__isnull=False) & Q(approved_at__isnull=False)),
                name="role_change_approvals_decision_consistent",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("requested_at")),
                name="role_change_approvals_expiry_after_request",
            ),
        ]
        indexes = [models.Index(fields=["client_account", "status", "-requested_at"], name="role_change_status_idx")]

    def __str__(self):
        return f"{self.target_user_id}: {self.current_role or '-'} -> {self.requested_role} ({self.status})"
