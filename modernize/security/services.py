"""Writers of the security audit trail.

An event of the tenant currently in context is written on the request's own connection,
so it commits or rolls back with the change it describes. Any other event (platform-level,
another tenant's, or outside every context) goes through the owner connection.
"""

from __future__ import annotations

from django.http import HttpRequest

from modernize.security.models import SecurityAuditLog
from tenancy.context import current_platform, current_tenant, platform_context
from tenancy.models import ROLE_RANK

Category = SecurityAuditLog.Category
Severity = SecurityAuditLog.Severity


def _request_fields(request: HttpRequest | None) -> dict:
    if request is None:
        return {}
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    ip = forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR")
    return {
        "ip_address": ip or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:1000],
        "request_path": request.path[:500],
        "request_method": request.method or "",
    }


def security_event_record(
    *,
    event_type: str,
    event_category: str,
    description: str,
    severity: str = Severity.INFO,
    client_account_id=None,
    engagement_id=None,
    actor_user_id=None,
    target_user_id=None,
    request: HttpRequest | None = None,
    details: dict | None = None,
    is_suspicious: bool = False,
    requires_review: bool = False,
    is_blocked: bool = False,
) -> SecurityAuditLog:
    """Write one security_audit_logs row and return it.

    Inside the tenant context of ``client_account_id`` the row joins that transaction;
    otherwise it is written through the owner connection in its own platform transaction.
    """
    tenant = current_tenant()
    if client_account_id is None and tenant is not None and engagement_id is None:
        client_account_id = tenant.client_account_id
    event = SecurityAuditLog(
        event_type=event_type,
        event_category=event_category,
        description=description,
        severity=severity,
        client_account_id=client_account_id,
        engagement_id=engagement_id,
        actor_user_id=actor_user_id,
        target_user_id=target_user_id,
        details=details or {},
        is_suspicious=is_suspicious,
        requires_review=requires_review or is_suspicious,
        is_blocked=is_blocked,
        **_request_fields(request),
    )
    same_tenant = tenant is not None and client_account_id is not None and str(client_account_id) == tenant.client_account_id
    if same_tenant or current_platform() is not None:
        event.save(force_insert=True)
    else:
        with platform_context(reason=f"audit: {event_type}", audit=False):
            event.save(force_insert=True)
    return event


def platform_access_record(*, reason: str, actor_id=None) -> SecurityAuditLog:
    """Record an entry into platform_context (cross-tenant access) with its reason."""
    return security_event_record(
        event_type="platform_context_entered",
        event_category=Category.PLATFORM_ACCESS,
        description=reason,
        actor_user_id=actor_id,
        details={"reason": reason},
    )


def role_change_record(
    *, actor_user_id, target_user_id, client_account_id, old_role: str | None, new_role: str, request=None, approval_id=None
) -> SecurityAuditLog:
    """Record a role change; an increase in rank is an escalation (WARNING, flagged).

    Escalation to platform_admin is CRITICAL and always requires review.
    """
    old_rank = ROLE_RANK.get(old_role or "", -1)
    new_rank = ROLE_RANK[new_role]
    escalation = new_rank > old_rank
    to_platform = new_role == "platform_admin"
    return security_event_record(
        event_type="role_escalation" if escalation else "role_change",
        event_category=Category.ROLE_CHANGE,
        severity=Severity.CRITICAL if to_platform else (Severity.WARNING if escalation else Severity.INFO),
        description=f"Role changed from {old_role or 'none'} to {new_role}.",
        client_account_id=client_account_id,
        actor_user_id=actor_user_id,
        target_user_id=target_user_id,
        request=request,
        details={"old_role": old_role, "new_role": new_role, "escalation": escalation, "approval_id": str(approval_id) if approval_id else None},
        is_suspicious=escalation and str(actor_user_id) == str(target_user_id),
        requires_review=to_platform,
    )


def admin_access_record(*, request, client_account_id=None) -> SecurityAuditLog:
    """Record one request to the Django admin."""
    user = getattr(request, "user", None)
    return security_event_record(
        event_type="admin_access",
        event_category=Category.ADMIN_ACCESS,
        description=f"Admin {request.method} {request.path}",
        client_account_id=client_account_id,
        actor_user_id=getattr(user, "pk", None),
        request=request,
    )


def security_violation_record(
    *, event_type: str, description: str, request=None, actor_user_id=None, client_account_id=None, details=None, is_blocked=True
) -> SecurityAuditLog:
    """Record an attempted violation (forged tenant header, foreign id, ...): suspicious, needs review."""
    return security_event_record(
        event_type=event_type,
        event_category=Category.SECURITY_VIOLATION,
        severity=Severity.WARNING,
        description=description,
        client_account_id=client_account_id,
        actor_user_id=actor_user_id,
        request=request,
        details=details,
        is_suspicious=True,
        is_blocked=is_blocked,
    )
