"""What `seed_comprehensive` builds: the known tenants and logins, the profiles, the proportions.

Tenants 1 and 2 have fixed ids that tests, docs and demos can rely on; further tenants
(``--tenants N``) get ids derived from their position, so the same N always names the
same tenants. Every seeded user of a tenant has an address at the tenant's domain; the
login users share one documented development password, which the seeder refuses to set
when DEBUG is off (unless ``--allow-demo-users``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from tenancy.models import Role

TEST_TENANT_1 = uuid.UUID("11111111-1111-1111-1111-111111111111")
TEST_TENANT_2 = uuid.UUID("22222222-2222-2222-2222-222222222222")

# The namespace of every id the seeder derives (tenants past the second, users).
SEED_NAMESPACE = uuid.UUID("5eed0000-6d6f-6465-726e-697a65000000")

DEFAULT_SEED = 20250630
DEMO_PASSWORD = "modernize-dev-password"
PLATFORM_ADMIN_EMAIL = "platform@modernize.example"

# The marker in client_accounts.settings that tells a seeded tenant from a real one.
SEEDED_BY_KEY = "seeded_by"
SEEDED_BY_VALUE = "seed_comprehensive"

# Everything seeded happens before this moment (minus the seed's offset, see
# reference_time); nothing reads the wall clock, so a seed means one dataset.
REFERENCE_TIME = dt.datetime(2025, 6, 30, 17, 0, tzinfo=dt.UTC)

# The login of each client role at a tenant's domain.
ROLE_LOGINS = {
    Role.CLIENT_ADMIN: "admin",
    Role.ENGAGEMENT_MANAGER: "manager",
    Role.ANALYST: "analyst",
    Role.VIEWER: "viewer",
}


@dataclass(frozen=True)
class TenantSpec:
    id: uuid.UUID
    name: str
    slug: str
    domain: str
    industry: str
    company_size: str
    subscription_tier: str
    target_cloud: str

    def login_email(self, role: str) -> str:
        return f"{ROLE_LOGINS[role]}@{self.domain}"


KNOWN_TENANTS = [
    TenantSpec(TEST_TENANT_1, "TechCorp Solutions", "techcorp-solutions", "techcorp.example", "technology", "enterprise", "enterprise", "aws"),
    TenantSpec(TEST_TENANT_2, "Global Retail Inc", "global-retail-inc", "globalretail.example", "retail", "large", "professional", "azure"),
]

# (name, domain label, industry, size, tier, target cloud) of tenants 3, 4, ...
FURTHER_TENANTS = [
    ("Northwind Logistics", "northwind", "logistics", "large", "professional", "aws"),
    ("Contoso Health Systems", "contosohealth", "healthcare", "enterprise", "enterprise", "azure"),
    ("Fabrikam Manufacturing", "fabrikam", "manufacturing", "large", "standard", "gcp"),
    ("Meridian Financial Group", "meridianfinancial", "financial_services", "enterprise", "enterprise", "aws"),
    ("Helios Energy", "heliosenergy", "energy", "large", "professional", "azure"),
    ("Bluewave Telecom", "bluewave", "telecommunications", "enterprise", "enterprise", "gcp"),
    ("Alpine Insurance", "alpineinsurance", "financial_services", "medium", "standard", "aws"),
    ("Urban Transit Authority", "urbantransit", "public_sector", "large", "professional", "azure"),
]


def tenant_specs(count: int) -> list[TenantSpec]:
    """The first ``count`` seeded tenants; ids past the second are derived from the position."""
    if count < 1:
        raise ValueError("At least one tenant is seeded.")
    specs = list(KNOWN_TENANTS[:count])
    for position in range(len(KNOWN_TENANTS) + 1, count + 1):
        name, label, industry, size, tier, cloud = FURTHER_TENANTS[(position - 3) % len(FURTHER_TENANTS)]
        cycle = (position - 3) // len(FURTHER_TENANTS)
        if cycle:
            name, label = f"{name} {cycle + 1}", f"{label}{cycle + 1}"
        specs.append(
            TenantSpec(
                id=uuid.uuid5(SEED_NAMESPACE, f"tenant:{position}"),
                name=name,
                slug=label,
                domain=f"{label}.example",
                industry=industry,
                company_size=size,
                subscription_tier=tier,
                target_cloud=cloud,
            )
        )
    return specs


def reference_time(seed: int) -> dt.datetime:
    """The moment the seeded world is "now": REFERENCE_TIME minus up to 27 days, from the seed."""
    return REFERENCE_TIME - dt.timedelta(days=seed % 28)


@dataclass(frozen=True)
class Profile:
    """Sizes of one seeding profile; --tenants and --patterns override two of them."""

    name: str
    tenants: int
    engagements_per_tenant: int
    staff_per_tenant: int
    flows_per_engagement: int
    patterns: int
    activity_days: int
    credentials_per_engagement: int
    credential_accesses_per_week: float
    active_days_per_user_week: float
    role_changes_per_tenant: int


PROFILES = {
    "demo": Profile(
        name="demo",
        tenants=2,
        engagements_per_tenant=3,
        staff_per_tenant=4,
        flows_per_engagement=10,
        patterns=1200,
        activity_days=240,
        credentials_per_engagement=2,
        credential_accesses_per_week=3,
        active_days_per_user_week=2,
        role_changes_per_tenant=6,
    ),
    "large": Profile(
        name="large",
        tenants=8,
        engagements_per_tenant=6,
        staff_per_tenant=20,
        flows_per_engagement=150,
        patterns=100_000,
        activity_days=120,
        credentials_per_engagement=3,
        credential_accesses_per_week=20,
        active_days_per_user_week=5,
        role_changes_per_tenant=40,
    ),
}

# Documented proportions of imperfect data (README "Seeding"); each is a probability.
QUALITY = {
    # agent tasks
    "task_failed": 0.08,
    "task_timeout": 0.025,
    "task_very_long": 0.005,  # 2-6 hours instead of seconds to minutes
    "task_token_spike": 0.005,  # one call near the 128K context limit
    "task_missing_optional": 0.05,  # no description, memory or confidence recorded
    # LLM calls
    "llm_call_failed": 0.04,
    "llm_client_level_call": 0.03,  # no engagement, no flow (portfolio views)
    # patterns
    "pattern_low_confidence": 0.10,  # confidence 0.12 - 0.35
    "pattern_near_duplicate": 0.03,  # a copy of a family member with one detail changed
    "pattern_without_embedding": 0.03,  # left for backfill_pattern_embeddings
    "pattern_unrated": 0.40,  # no effectiveness score yet
    "pattern_missing_optional": 0.05,  # no task id, no description detail
    # engagements, credentials, security
    "engagement_no_target_date": 0.15,
    "credential_expired": 0.10,
    "credential_pending_rotation": 0.10,
    "credential_revoked": 0.06,
    "credential_rotation_failed": 0.05,
    "login_failed": 0.05,
    "suspicious_burst_per_tenant_week": 0.35,  # password spraying / forged tenant headers
}
