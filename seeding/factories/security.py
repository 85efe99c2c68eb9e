"""Factories of the security audit trail and of role-change approvals.

``SecurityAuditLogFactory(client_account=c)`` builds an event of ``c`` (engagement optional,
then inside ``c``). ``RoleChangeApprovalFactory`` creates its users through UserFactory,
which only the owner can write: inside tenant_context pass committed users.
"""

from datetime import timedelta

import factory
from django.utils import timezone

from modernize.security.models import ApprovalStatus, AuditCategory, RoleChangeApproval, SecurityAuditLog, Severity
from seeding.factories.base import ModernizeFactory
from seeding.factories.tenancy import ClientAccountFactory, UserFactory

# (event_type, category, severity, description) as the platform writes them.
AUDIT_EVENTS = [
    ("login_succeeded", AuditCategory.AUTHENTICATION, Severity.INFO, "Session login from the admin."),
    ("login_failed", AuditCategory.AUTHENTICATION, Severity.WARNING, "Wrong password for a known account."),
    ("api_token_issued", AuditCategory.AUTHENTICATION, Severity.INFO, "API token issued for the Asset Inventory Agent runtime."),
    ("admin_access", AuditCategory.ADMIN_ACCESS, Severity.INFO, "Admin GET /admin/platforms/platformcredential/"),
    ("credential_secret_revealed", AuditCategory.CREDENTIAL_ACCESS, Severity.INFO, "Secret of credential aws-prod-discovery-readonly revealed."),
    ("pattern_search", AuditCategory.DATA_ACCESS, Severity.INFO, "Similarity search over discovered patterns."),
    ("role_change", AuditCategory.ROLE_CHANGE, Severity.INFO, "Role changed from engagement_manager to analyst."),
    ("forged_tenant_header", AuditCategory.SECURITY_VIOLATION, Severity.WARNING, "X-Client-Account-Id names a client account the user is not a member of."),
]


class SecurityAuditLogFactory(ModernizeFactory):
    class Meta:
        model = SecurityAuditLog

    class Params:
        event = factory.Faker("random_element", elements=AUDIT_EVENTS)

    client_account = factory.SubFactory(ClientAccountFactory)
    engagement = None
    event_type = factory.LazyAttribute(lambda o: o.event[0])
    event_category = factory.LazyAttribute(lambda o: o.event[1])
    severity = factory.LazyAttribute(lambda o: o.event[2])
    description = factory.LazyAttribute(lambda o: o.event[3])
    actor_user = None
    target_user = None
    ip_address = factory.Faker("ipv4_private")
    user_agent = factory.Faker("user_agent")
    request_path = factory.Faker("random_element", elements=["/api/v1/patterns/search", "/admin/", "/api/v1/auth/token", "/api/v1/patterns/"])
    request_method = factory.Faker("random_element", elements=["GET", "POST"])
    details = factory.LazyFunction(dict)
    is_suspicious = factory.LazyAttribute(lambda o: o.event_category == AuditCategory.SECURITY_VIOLATION)
    requires_review = factory.SelfAttribute("is_suspicious")
    is_blocked = factory.SelfAttribute("is_suspicious")


class RoleChangeApprovalFactory(ModernizeFactory):
    """A pending request by default; ``status=`` APPROVED/REJECTED also sets the decider."""

    class Meta:
        model = RoleChangeApproval

    client_account = factory.SubFactory(ClientAccountFactory)
    requested_by = factory.SubFactory(UserFactory)
    target_user = factory.SubFactory(UserFactory)
    current_role = "analyst"
    requested_role = "engagement_manager"
    justification = factory.Faker(
        "random_element",
        elements=[
            "Leads wave 2 planning for the SAP estate and needs to approve the Migration Wave Planner output.",
            "Takes over the Oracle to PostgreSQL workstream while the lead is on leave.",
            "Needs to review Risk Assessment Agent findings for the data center exit.",
        ],
    )
    class Params:
        decided = factory.LazyAttribute(lambda o: o.status != ApprovalStatus.PENDING)

    status = ApprovalStatus.PENDING
    requested_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.requested_at + timedelta(days=7))
    approved_by = factory.Maybe("decided", yes_declaration=factory.SubFactory(UserFactory), no_declaration=None)
    approved_at = factory.Maybe(
        "decided", yes_declaration=factory.LazyAttribute(lambda o: o.requested_at + timedelta(hours=4)), no_declaration=None
    )
    notes = ""
