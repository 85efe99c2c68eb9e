"""Writers of the security audit trail.

An event of the tenant currently in context is written on the request's own connection,
so it commits or rolls back with the change it describes. Any other event (platform-level,
another tenant's, or outside every context) goes through the owner connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, router, transaction
from django.http import HttpRequest
from django.utils import timezone

from modernize.security.models import ApprovalStatus, RoleChangeApproval, SecurityAuditLog
from tenancy.context import OWNER_ALIAS, TenantContextError, current_platform, current_tenant, platform_context
from tenancy.models import ROLE_RANK, ClientMembership, Role, User

Category = SecurityAuditLog.Category
Severity = SecurityAuditLog.Severity


def request_audit_fields(request: HttpRequest | None) -> dict:
    """The origin of a request as audit columns: ip (first X-Forwarded-For hop), user agent, path, method."""
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
    durable: bool = False,
) -> SecurityAuditLog:
    """Write one security_audit_logs row and return it.

    Inside the tenant context of ``client_account_id`` the row joins that transaction;
    otherwise it is written through the owner connection in its own platform transaction.
    ``durable=True`` (for refusals that are about to raise) writes it outside the caller's
    transaction, see ``durable_audit_save``.
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
        **request_audit_fields(request),
    )
    same_tenant = tenant is not None and client_account_id is not None and str(client_account_id) == tenant.client_account_id
    if durable:
        durable_audit_save(event)
    elif same_tenant or current_platform() is not None:
        event.save(force_insert=True)
    else:
        with platform_context(reason=f"audit: {event_type}", audit=False):
            event.save(force_insert=True)
    return event


def durable_audit_save(row: models.Model) -> None:
    """Insert an audit row (any tenant's) so that it outlives a rollback of the caller's transaction.

    A refusal is recorded and then raised; the raise rolls back the tenant transaction,
    so the record goes through the owner connection in a transaction of its own. Inside
    platform_context the owner connection is already in the caller's transaction, and the
    row shares its fate.
    """
    with transaction.atomic(using=OWNER_ALIAS):
        row.save(using=OWNER_ALIAS, force_insert=True)


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


# The audit row names at most this many reviewed events (its count is always exact).
REVIEW_IDS_RECORDED = 200


@dataclass(frozen=True)
class EventsReviewed:
    reviewed: int
    # Left for another reviewer: events about the reviewer's own actions.
    own_events: int
    already_reviewed: int


def security_events_review(*, event_ids: Iterable, reviewer: User, request: HttpRequest | None = None) -> EventsReviewed:
    """Mark the given events that need review as reviewed by ``reviewer`` now.

    Only events visible in the current context are touched. Events that need no review
    or were reviewed before are left as they are, and so are events whose actor is the
    reviewer (nobody signs off their own suspicious activity). Writes one
    ``security_events_reviewed`` event per client account concerned, naming the events.
    Raises TenantContextError outside a tenant or platform context.
    """
    if current_tenant() is None and current_platform() is None:
        raise TenantContextError("security_events_review must run inside tenant_context or platform_context.")
    now = timezone.now()
    with transaction.atomic(using=router.db_for_write(SecurityAuditLog)):
        selected = SecurityAuditLog.objects.filter(pk__in=list(event_ids))
        pending = selected.filter(reviewed_at__isnull=True).filter(models.Q(requires_review=True) | models.Q(is_suspicious=True))
        own = pending.filter(actor_user_id=reviewer.pk)
        own_count = own.count()
        to_review = list(
            pending.exclude(actor_user_id=reviewer.pk).select_for_update().order_by("created_at").values_list("pk", "client_account_id")
        )
        already = selected.filter(reviewed_at__isnull=False).count()
        SecurityAuditLog.objects.filter(pk__in=[pk for pk, _ in to_review]).update(reviewed_at=now, reviewed_by=reviewer, updated_at=now)
        by_client: dict = {}
        for pk, client_id in to_review:
            by_client.setdefault(client_id, []).append(str(pk))
        for client_id, ids in by_client.items():
            security_event_record(
                event_type="security_events_reviewed",
                event_category=Category.AUTHORIZATION,
                description=f"{reviewer} reviewed {len(ids)} security event(s).",
                client_account_id=client_id,
                actor_user_id=reviewer.pk,
                request=request,
                details={"count": len(ids), "event_ids": ids[:REVIEW_IDS_RECORDED]},
            )
    return EventsReviewed(reviewed=len(to_review), own_events=own_count, already_reviewed=already)


# --- Role change approvals ------------------------------------------------------------

ROLE_CHANGE_REQUEST_TTL = timedelta(days=7)


class RoleChangeNotAllowed(PermissionDenied):
    """This user may not request or decide this role change."""


class RoleChangeInvalid(ValidationError):
    """The role change cannot happen as asked (unknown role, already decided, expired, ...)."""


def _require_context_for(client_account_id, action: str) -> None:
    tenant = current_tenant()
    if tenant is None and current_platform() is None:
        raise TenantContextError(f"{action} must run inside tenant_context or platform_context.")
    if tenant is not None and tenant.client_account_id != str(client_account_id):
        raise TenantContextError(f"{action} concerns client account {client_account_id}, not the tenant in context.")


def _membership_role(user_id, client_account_id) -> str | None:
    """The user's role in the client account if the membership is active, else None."""
    return (
        ClientMembership.objects.filter(user_id=user_id, client_account_id=client_account_id, is_active=True)
        .values_list("role", flat=True)
        .first()
    )


def role_change_request(
    *,
    requested_by: User,
    target_user: User,
    client_account_id,
    requested_role: str,
    justification: str,
    request: HttpRequest | None = None,
    expires_at: datetime | None = None,
) -> RoleChangeApproval:
    """Open a PENDING request for ``target_user`` to hold ``requested_role`` in the client account.

    ``current_role`` is the target's active membership role ('' when none). The request
    expires after ROLE_CHANGE_REQUEST_TTL unless ``expires_at`` says otherwise. Writes a
    ``role_change_requested`` audit event. Raises RoleChangeNotAllowed when the requester
    is neither a member of the client account nor a platform admin, RoleChangeInvalid for
    an unknown or unchanged role, an empty justification or a pending duplicate.
    """
    _require_context_for(client_account_id, "role_change_request")
    if requested_role not in ROLE_RANK:
        raise RoleChangeInvalid(f"{requested_role!r} is not a role; choose one of {', '.join(ROLE_RANK)}.")
    if not justification or not justification.strip():
        raise RoleChangeInvalid("A role change request needs a justification.")
    if not requested_by.is_platform_admin and _membership_role(requested_by.pk, client_account_id) is None:
        raise RoleChangeNotAllowed("Only a member of this client account or a platform admin may request a role change in it.")
    current_role = _membership_role(target_user.pk, client_account_id) or ""
    if requested_role == current_role or (requested_role == Role.PLATFORM_ADMIN and target_user.is_platform_admin):
        raise RoleChangeInvalid(f"{target_user} already holds the role {requested_role}.")
    now = timezone.now()
    expires_at = expires_at or now + ROLE_CHANGE_REQUEST_TTL
    if expires_at <= now:
        raise RoleChangeInvalid("A role change request must expire in the future.")
    pending = RoleChangeApproval.objects.filter(
        client_account_id=client_account_id, target_user_id=target_user.pk, status=ApprovalStatus.PENDING
    ).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))
    with transaction.atomic(using=router.db_for_write(RoleChangeApproval)):
        if pending.exists():
            raise RoleChangeInvalid(f"{target_user} already has a pending role change request in this client account; decide it first.")
        approval = RoleChangeApproval.objects.create(
            client_account_id=client_account_id,
            requested_by=requested_by,
            target_user=target_user,
            current_role=current_role,
            requested_role=requested_role,
            justification=justification.strip(),
            requested_at=now,
            expires_at=expires_at,
        )
        security_event_record(
            event_type="role_change_requested",
            event_category=Category.ROLE_CHANGE,
            severity=Severity.WARNING if requested_role == Role.PLATFORM_ADMIN else Severity.INFO,
            description=f"{requested_by} asked for {target_user} to become {requested_role} (now {current_role or 'none'}).",
            client_account_id=client_account_id,
            actor_user_id=requested_by.pk,
            target_user_id=target_user.pk,
            request=request,
            details={"approval_id": str(approval.pk), "current_role": current_role, "requested_role": requested_role},
        )
    return approval


def _decision_refused(*, approval: RoleChangeApproval, approver: User, decision: str, message: str, request) -> RoleChangeNotAllowed:
    """Record the refusal durably (the raise rolls the caller back) and build the exception."""
    security_event_record(
        event_type="role_change_decision_refused",
        event_category=Category.AUTHORIZATION,
        severity=Severity.WARNING,
        description=f"{approver} may not {decision} the request for {approval.target_user_id} to become {approval.requested_role}.",
        client_account_id=approval.client_account_id,
        actor_user_id=approver.pk,
        target_user_id=approval.target_user_id,
        request=request,
        details={"approval_id": str(approval.pk), "decision": decision, "reason": message},
        requires_review=True,
        durable=True,
    )
    return RoleChangeNotAllowed(message)


def _locked_pending(approval: RoleChangeApproval) -> RoleChangeApproval:
    try:
        locked = RoleChangeApproval.objects.select_for_update().get(pk=approval.pk)
    except RoleChangeApproval.DoesNotExist:
        raise RoleChangeInvalid("This role change request is not visible in the current context.") from None
    if locked.status != ApprovalStatus.PENDING:
        raise RoleChangeInvalid(f"This role change request was already {locked.status.lower()}.")
    return locked


def _decision_refusal(approval: RoleChangeApproval, approver: User) -> str | None:
    """Why ``approver`` may not decide ``approval``, or None (see role_change_approve)."""
    if str(approval.requested_by_id) == str(approver.pk):
        return "The requester cannot decide their own role change request; another admin must."
    if not approver.is_active:
        return "An inactive user cannot decide role changes."
    if approver.is_platform_admin:
        return None
    role = _membership_role(approver.pk, approval.client_account_id)
    if role is None or ROLE_RANK[role] <= ROLE_RANK[approval.requested_role]:
        return (
            f"Deciding a request for the role {approval.requested_role} needs a role ranked above it "
            f"in this client account (you hold {role or 'none'}), or a platform admin."
        )
    return None


def _decision_record(locked: RoleChangeApproval, *, status: str, approver: User, notes: str, now: datetime) -> None:
    locked.status = status
    locked.approved_by = approver
    locked.approved_at = now
    locked.notes = notes
    locked.save(update_fields=["status", "approved_by", "approved_at", "notes", "updated_at"])


def role_change_approve(*, approval: RoleChangeApproval, approver: User, notes: str = "", request: HttpRequest | None = None) -> RoleChangeApproval:
    """Approve a pending request and apply the role; return the updated request.

    Only an active user ranked above the requested role in the same client account, or a
    platform admin, may decide, and never the requester. The target's membership gets the
    role (created or reactivated if needed); ``platform_admin`` sets ``user.is_platform_admin``
    instead, which only the owner may write, so it must run inside platform_context.
    Writes ``role_change_record`` (escalations flagged). One transaction. Raises
    RoleChangeNotAllowed (recorded durably) or RoleChangeInvalid (not pending, expired).
    """
    _require_context_for(approval.client_account_id, "role_change_approve")
    with transaction.atomic(using=router.db_for_write(RoleChangeApproval)):
        locked = _locked_pending(approval)
        refusal = _decision_refusal(locked, approver)
        if refusal is None:
            _role_change_apply(locked, approver=approver, notes=notes, request=request)
    if refusal:
        # Recorded after the savepoint above, so a caller that catches it keeps the record.
        raise _decision_refused(approval=locked, approver=approver, decision="approve", message=refusal, request=request)
    return locked


def _role_change_apply(locked: RoleChangeApproval, *, approver: User, notes: str, request) -> None:
    """The writes of an approval (see role_change_approve)."""
    now = timezone.now()
    if locked.expires_at is not None and locked.expires_at <= now:
        raise RoleChangeInvalid(f"This role change request expired at {locked.expires_at:%Y-%m-%d %H:%M} UTC; open a new one.")
    old_role = _membership_role(locked.target_user_id, locked.client_account_id)
    if locked.requested_role == Role.PLATFORM_ADMIN:
        if current_platform() is None:
            raise RoleChangeInvalid("platform_admin is a global role: approve it inside platform_context(reason=...).")
        User.objects.filter(pk=locked.target_user_id).update(is_platform_admin=True)
    else:
        updated = ClientMembership.objects.filter(user_id=locked.target_user_id, client_account_id=locked.client_account_id).update(
            role=locked.requested_role, is_active=True, updated_at=now
        )
        if not updated:
            ClientMembership.objects.create(client_account_id=locked.client_account_id, user_id=locked.target_user_id, role=locked.requested_role)
    _decision_record(locked, status=ApprovalStatus.APPROVED, approver=approver, notes=notes, now=now)
    role_change_record(
        actor_user_id=approver.pk,
        target_user_id=locked.target_user_id,
        client_account_id=locked.client_account_id,
        old_role=old_role,
        new_role=locked.requested_role,
        request=request,
        approval_id=locked.pk,
    )


def role_change_reject(*, approval: RoleChangeApproval, approver: User, notes: str = "", request: HttpRequest | None = None) -> RoleChangeApproval:
    """Reject a pending request (expired ones too); return the updated request.

    The same authority rules as role_change_approve. Writes a ``role_change_rejected``
    audit event. Raises RoleChangeNotAllowed (recorded durably) or RoleChangeInvalid
    (already decided).
    """
    _require_context_for(approval.client_account_id, "role_change_reject")
    with transaction.atomic(using=router.db_for_write(RoleChangeApproval)):
        locked = _locked_pending(approval)
        refusal = _decision_refusal(locked, approver)
        if refusal is None:
            _decision_record(locked, status=ApprovalStatus.REJECTED, approver=approver, notes=notes, now=timezone.now())
            security_event_record(
                event_type="role_change_rejected",
                event_category=Category.ROLE_CHANGE,
                description=f"{approver} rejected the request for {locked.target_user_id} to become {locked.requested_role}.",
                client_account_id=locked.client_account_id,
                actor_user_id=approver.pk,
                target_user_id=locked.target_user_id,
                request=request,
                details={"approval_id": str(locked.pk), "requested_role": locked.requested_role, "notes": notes},
            )
    if refusal:
        raise _decision_refused(approval=locked, approver=approver, decision="reject", message=refusal, request=request)
    return locked
