"""Row generators of the seeder: one tenant's interconnected world, reproducible from the seed.

The tenant graph (account, users, memberships, engagements, assignments, master flows,
credentials) is built with the factories of ``seeding.factories``; the high-volume facts
(agent tasks, LLM calls, audit events, credential activity, patterns) are generated
directly with a seeded ``random.Random`` and the factories' vocabulary, because a
factory-boy build per row would dominate the large profile.

Every random stream is keyed by (seed, tenant position, purpose), so a tenant's content
does not depend on how many tenants are seeded, and every time is relative to the seed's
reference time, never to the wall clock. Rows are dicts keyed by column name.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import datetime as dt
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import factory.random
from django.contrib.auth.hashers import make_password
from django.utils.text import slugify

from modernize.agents.models import AgentTaskStatus, AgentType
from modernize.flows.models import FlowStatus, FlowType
from modernize.llm.models import LLMModelPricing
from modernize.llm.selectors import LLMPricingNotFound, llm_pricing_for
from modernize.platforms.models import CredentialAccessType, CredentialStatus, PermissionType, RotationType, VaultProvider
from modernize.security.models import AuditCategory, Severity
from patterns.models import INSIGHT_TYPE_FOR_PATTERN_TYPE
from patterns.services import pattern_text
from seeding.constants import (
    PLATFORM_ADMIN_EMAIL,
    QUALITY,
    ROLE_LOGINS,
    SEED_NAMESPACE,
    SEEDED_BY_KEY,
    SEEDED_BY_VALUE,
    Profile,
    TenantSpec,
)
from seeding.factories.agents import AGENT_TASKS, TASK_ERRORS
from seeding.factories.flows import FLOW_CREWS, FLOW_STATUS_WEIGHTS, MasterFlowFactory
from seeding.factories.llm import CALL_CONTEXTS, FAILURES, MODEL_MIX, REQUEST_ID_PREFIX
from seeding.factories.patterns import FINDINGS, TECHNOLOGIES
from seeding.factories.platforms import CREDENTIAL_PROFILES, PlatformCredentialFactory
from seeding.factories.tenancy import (
    ENGAGEMENT_NAMES,
    ClientAccountFactory,
    ClientMembershipFactory,
    EngagementAssignmentFactory,
    EngagementFactory,
    UserFactory,
)
from tenancy.authentication import token_digest
from tenancy.models import ROLE_RANK, Role

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
UNUSABLE_PASSWORD = "!seeded-user-without-login"
SEEDED_TOKEN_PREFIX = "seed"
AGENT_USER_AGENT = "modernize-agent-runtime/1.4 (crewai 0.86)"
LLM_USER_AGENT = "modernize-agents/1.4 crewai/0.86 python-httpx/0.28"
BROWSER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
]
API_AGENT = "python-httpx/0.28.1"
# Documentation ranges (RFC 5737): never a real attacker's address.
HOSTILE_NETWORKS = ["203.0.113", "198.51.100", "192.0.2"]

STAFF_NAMES = [
    ("Priya", "Sharma"), ("Marcus", "Lee"), ("Sofia", "Rossi"), ("Daniel", "Okafor"), ("Hannah", "Schmidt"),
    ("Kenji", "Tanaka"), ("Amara", "Nwosu"), ("Lucas", "Martin"), ("Elena", "Petrova"), ("Omar", "Haddad"),
    ("Grace", "O'Neill"), ("Mateo", "Garcia"), ("Aisha", "Khan"), ("Noah", "Williams"), ("Ingrid", "Larsen"),
    ("Ravi", "Iyer"), ("Chloe", "Dubois"), ("Samuel", "Mensah"), ("Yuki", "Sato"), ("Leila", "Farahani"),
    ("Tomasz", "Nowak"), ("Isabel", "Costa"), ("Ethan", "Brown"), ("Fatima", "Zahra"),
]
LOGIN_NAMES = {
    Role.CLIENT_ADMIN: ("Alex", "Admin"),
    Role.ENGAGEMENT_MANAGER: ("Morgan", "Manager"),
    Role.ANALYST: ("Ana", "Analyst"),
    Role.VIEWER: ("Victor", "Viewer"),
}
SITES = ["Frankfurt DC", "Dallas DC", "Singapore DC", "London colo", "Chicago DC", "São Paulo DC", "Amsterdam colo", "Virginia DC"]
WAVES = ["wave 1", "wave 2", "wave 3", "wave 4", "pilot wave", "wave 5"]
ADMIN_PAGES = [
    "/admin/", "/admin/patterns/agentdiscoveredpattern/", "/admin/platforms/platformcredential/",
    "/admin/flows/masterflow/", "/admin/agents/agenttaskhistory/", "/admin/llm/llmusagelog/",
    "/admin/security/securityauditlog/", "/admin/tenancy/clientmembership/",
]


class SeedRandom(random.Random):
    """random.Random with randint/choice from one ``random()`` draw: several times faster
    than the rejection sampling of the stdlib, which dominates generating a million rows."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]


def stream(seed: int, *parts) -> SeedRandom:
    """An independent random stream for (seed, parts): same inputs, same numbers."""
    return SeedRandom(":".join(str(p) for p in (seed, *parts)))


def new_id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def user_id_for(email: str) -> uuid.UUID:
    return uuid.uuid5(SEED_NAMESPACE, f"user:{email}")


def _weighted(rng: random.Random, pairs) -> object:
    values, weights = zip(*pairs)
    return rng.choices(values, weights=weights, k=1)[0]


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    seconds = max(0.0, (end - start).total_seconds())
    return start + dt.timedelta(seconds=int(rng.random() * seconds))


# --- Reference data read once per run --------------------------------------------------


class PricingTable:
    """The price row of each MODEL_MIX model in effect at any time of the window.

    Built with ``llm_pricing_for`` at every boundary of the model's price windows, so the
    seeder prices calls exactly as ``llm_usage_record`` would; the cost arithmetic is
    that of ``llm_cost_for`` in integers of 1e-10 (prices have 8 decimals).
    """

    def __init__(self, start: dt.datetime, end: dt.datetime):
        self.segments: list[tuple[list[dt.datetime], list[LLMModelPricing | None]]] = []
        for provider, model_name, version, *_ in MODEL_MIX:
            rows = LLMModelPricing.objects.filter(provider=provider, model_name=model_name, model_version__in={version, ""}, is_active=True)
            bounds = sorted({b for r in rows for b in (r.effective_from, r.effective_to) if b is not None and start < b < end})
            times, prices = [], []
            for at in [start, *bounds]:
                try:
                    prices.append(llm_pricing_for(provider, model_name, version, at=at))
                except LLMPricingNotFound:
                    prices.append(None)
                times.append(at)
            self.segments.append((times, prices))
        # Integer prices in units of 1e-8 per 1K tokens, per pricing id.
        self._units: dict[uuid.UUID, tuple[int, int]] = {}
        for _, prices in self.segments:
            for p in prices:
                if p is not None:
                    self._units[p.pk] = (int(p.input_cost_per_1k.scaleb(8)), int(p.output_cost_per_1k.scaleb(8)))

    def pricing(self, model_index: int, at: dt.datetime) -> LLMModelPricing | None:
        times, prices = self.segments[model_index]
        return prices[bisect.bisect_right(times, at) - 1]

    def cost(self, pricing: LLMModelPricing, input_tokens: int, output_tokens: int) -> tuple[Decimal, Decimal]:
        per_in, per_out = self._units[pricing.pk]
        # tokens × price / 1000, ROUND_HALF_UP to 10 decimals == (tokens × units + 5) // 10.
        return Decimal((input_tokens * per_in + 5) // 10).scaleb(-10), Decimal((output_tokens * per_out + 5) // 10).scaleb(-10)


@dataclass
class RunContext:
    seed: int
    profile: Profile
    now: dt.datetime
    pricing: PricingTable
    adapters: dict  # adapter_name -> active PlatformAdapter
    password_hash: str
    platform_admin_id: uuid.UUID

    @property
    def start(self) -> dt.datetime:
        return self.now - dt.timedelta(days=self.profile.activity_days)


def demo_password_hash(seed: int, password: str) -> str:
    """One hash for every login user (the password is public anyway); the salt comes from the seed."""
    # 22 characters: Django asks for a salt of at least 128 bits and would rehash otherwise.
    return make_password(password, salt=hashlib.sha256(f"modernize-seed-{seed}".encode()).hexdigest()[:22])


def platform_admin_row(ctx: RunContext) -> dict:
    user = UserFactory.build(
        id=ctx.platform_admin_id,
        email=PLATFORM_ADMIN_EMAIL,
        first_name="Platform",
        last_name="Admin",
        is_staff=True,
        is_superuser=True,
        is_platform_admin=True,
        date_joined=ctx.start - 90 * DAY,
        password=factory.Transformer.Force(ctx.password_hash),
    )
    return _instance_dict(user)


def _instance_dict(instance) -> dict:
    return {f.column: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


# --- One tenant -----------------------------------------------------------------------


@dataclass
class FlowFacts:
    id: uuid.UUID
    engagement_id: uuid.UUID
    flow_type: str
    status: str
    user_id: uuid.UUID | None
    transitions: list  # [(phase, at)]


@dataclass
class TaskFacts:
    engagement_id: uuid.UUID
    flow: FlowFacts
    agent_name: str
    task_id: str
    phase: str
    completed_at: dt.datetime | None
    success: bool | None


@dataclass
class TenantWorld:
    """One seeded tenant: its built graph and the facts later generators refer to."""

    position: int
    spec: TenantSpec
    ctx: RunContext
    account: dict = field(default_factory=dict)
    users: list[dict] = field(default_factory=list)
    login_ids: dict = field(default_factory=dict)  # role -> user id
    staff: list[tuple[uuid.UUID, str]] = field(default_factory=list)  # (user id, final role)
    memberships: list[dict] = field(default_factory=list)
    engagements: list[dict] = field(default_factory=list)
    assignments: list[dict] = field(default_factory=list)
    flows: list[FlowFacts] = field(default_factory=list)
    completed_tasks: dict = field(default_factory=dict)  # engagement id -> [TaskFacts]
    credentials: list[dict] = field(default_factory=list)
    api_tokens: list[dict] = field(default_factory=list)
    # Built model instances, for factories that take related objects.
    account_obj: object = None
    user_objs: dict = field(default_factory=dict)
    engagement_objs: dict = field(default_factory=dict)

    def rng(self, purpose: str) -> random.Random:
        return stream(self.ctx.seed, self.position, purpose)

    def reseed_factories(self, purpose: str) -> None:
        """Point factory-boy's and Faker's shared random at this tenant's stream for ``purpose``."""
        factory.random.reseed_random(f"{self.ctx.seed}:{self.position}:{purpose}")

    @property
    def id(self) -> uuid.UUID:
        return self.spec.id

    @property
    def engagement_ids(self) -> list[uuid.UUID]:
        return [e["id"] for e in self.engagements]

    def office_ip(self, rng: random.Random) -> str:
        return f"10.{self.position % 250}.{rng.randint(0, 31)}.{rng.randint(2, 254)}"


def build_graph(world: TenantWorld) -> None:
    """Account, users, engagements, memberships and assignments of the tenant (factories)."""
    ctx, spec = world.ctx, world.spec
    rng = world.rng("graph")
    world.reseed_factories("graph")
    joined = ctx.start - dt.timedelta(days=60 + rng.randint(0, 300))
    account = ClientAccountFactory.build(
        id=spec.id,
        name=spec.name,
        slug=spec.slug,
        industry=spec.industry,
        company_size=spec.company_size,
        subscription_tier=spec.subscription_tier,
        max_users=200 if spec.company_size == "enterprise" else 100,
        max_engagements=40 if spec.company_size == "enterprise" else 20,
        settings={
            "timezone": "UTC",
            "data_residency": {"aws": "eu-west-1", "azure": "westeurope", "gcp": "europe-west3"}[spec.target_cloud],
            SEEDED_BY_KEY: SEEDED_BY_VALUE,
        },
        features_enabled={"pattern_search": True, "agent_learning": True, "finops": spec.subscription_tier == "enterprise"},
        agent_preferences={"confidence_threshold": 0.7, "max_parallel_agents": 4, "preferred_llm": "gpt-4o"},
        business_objectives=[
            "exit the primary data center within 18 months",
            f"move 70% of workloads to {spec.target_cloud.upper()}",
            "cut infrastructure run cost by 25%",
        ],
        created_at=joined,
    )
    account.updated_at = joined
    world.account = _instance_dict(account)
    world.account_obj = account

    for role, local in ROLE_LOGINS.items():
        email = f"{local}@{spec.domain}"
        first, last = LOGIN_NAMES[role]
        user = UserFactory.build(
            id=user_id_for(email), email=email, first_name=first, last_name=last, is_staff=True,
            date_joined=joined, password=factory.Transformer.Force(ctx.password_hash),
        )
        world.users.append(_instance_dict(user))
        world.user_objs[user.id] = user
        world.login_ids[role] = user.id
    staff_roles = [Role.ANALYST, Role.ANALYST, Role.VIEWER, Role.ENGAGEMENT_MANAGER]
    for i in range(ctx.profile.staff_per_tenant):
        first, last = STAFF_NAMES[(i + world.position * 7) % len(STAFF_NAMES)]
        cycle = "" if i < len(STAFF_NAMES) else str(i // len(STAFF_NAMES) + 1)
        email = f"{slugify(first)}.{slugify(last)}{cycle}@{spec.domain}"
        user = UserFactory.build(
            id=user_id_for(email), email=email, first_name=first, last_name=last, is_staff=False,
            date_joined=_between(rng, joined, ctx.start), password=factory.Transformer.Force(UNUSABLE_PASSWORD),
        )
        world.users.append(_instance_dict(user))
        world.user_objs[user.id] = user
        world.staff.append((user.id, staff_roles[i % len(staff_roles)]))

    manager = world.login_ids[Role.ENGAGEMENT_MANAGER]
    names = ENGAGEMENT_NAMES[world.position % len(ENGAGEMENT_NAMES):] + ENGAGEMENT_NAMES[: world.position % len(ENGAGEMENT_NAMES)]
    for i in range(ctx.profile.engagements_per_tenant):
        name = names[i % len(names)] + ("" if i < len(names) else f" (phase {i // len(names) + 1})")
        start = (ctx.start - dt.timedelta(days=rng.randint(5, 60))).date()
        status = "active" if i == 0 else _weighted(rng, [("active", 50), ("planning", 15), ("on_hold", 10), ("completed", 25)])
        target = None if rng.random() < QUALITY["engagement_no_target_date"] else start + dt.timedelta(days=rng.randint(300, 540))
        created = dt.datetime.combine(start, dt.time(9), tzinfo=dt.UTC) - dt.timedelta(days=rng.randint(1, 20))
        engagement = EngagementFactory.build(
            id=new_id(rng),
            client_account=account,
            name=name,
            slug=slugify(name)[:90],
            status=status,
            priority=_weighted(rng, [("critical", 15), ("high", 35), ("medium", 40), ("low", 10)]),
            start_date=start,
            target_completion_date=target,
            actual_completion_date=(ctx.now - dt.timedelta(days=rng.randint(1, 30))).date() if status == "completed" else None,
            engagement_lead=world.user_objs[manager],
            migration_scope={
                "applications": rng.randint(20, 400),
                "servers": rng.randint(80, 4000),
                "databases": rng.randint(10, 600),
                "source": rng.choice(["on-premises VMware", "on-premises Hyper-V", "colocation bare metal", "mainframe z/OS"]),
                "target_cloud": spec.target_cloud,
            },
            created_at=created,
        )
        engagement.updated_at = created
        world.engagements.append(_instance_dict(engagement))
        world.engagement_objs[engagement.id] = engagement

    def membership(user_id, role, at):
        row = ClientMembershipFactory.build(id=new_id(rng), client_account=account, user=world.user_objs[user_id], role=role, created_at=at)
        row.updated_at = at
        world.memberships.append(_instance_dict(row))

    def assign(user_id, engagement, at):
        row = EngagementAssignmentFactory.build(
            id=new_id(rng), engagement=world.engagement_objs[engagement["id"]], user=world.user_objs[user_id], created_at=at
        )
        row.updated_at = at
        world.assignments.append(_instance_dict(row))

    for role, user_id in world.login_ids.items():
        membership(user_id, role, joined)
    for user_id, role in world.staff:
        membership(user_id, role, joined + DAY)
    for role in (Role.ANALYST, Role.VIEWER):
        for engagement in world.engagements[:2]:
            assign(world.login_ids[role], engagement, joined + DAY)
    for user_id, _ in world.staff:
        for engagement in rng.sample(world.engagements, k=min(len(world.engagements), rng.randint(1, 2))):
            assign(user_id, engagement, joined + 2 * DAY)


# --- Role changes ---------------------------------------------------------------------


def role_changes(world: TenantWorld) -> tuple[list[dict], list[dict]]:
    """Role change approvals of staff users and their audit events, consistent with the final roles.

    Each staff user's requests form a chain: an approved request moves their membership
    to the requested role (so the memberships hold the last approved role), a rejected
    one leaves it, and at most the last request is pending. The events are those the
    role-change services write (requested; role_change / role_escalation; rejected).
    """
    ctx = world.ctx
    rng = world.rng("role_changes")
    admin, manager = world.login_ids[Role.CLIENT_ADMIN], world.login_ids[Role.ENGAGEMENT_MANAGER]
    approvals, events = [], []
    if not world.staff:
        return approvals, events
    final_roles = {}
    initial = {user_id: role for user_id, role in world.staff}
    per_user: dict = {}
    for _ in range(ctx.profile.role_changes_per_tenant):
        user_id, _ = rng.choice(world.staff)
        per_user.setdefault(user_id, 0)
        per_user[user_id] += 1
    justifications = [
        "Leads wave {w} planning for the {e} and needs to approve the Migration Wave Planner output.",
        "Takes over the {e} workstream while the lead is on leave.",
        "Needs to review Risk Assessment Agent findings for the {e}.",
        "Rotated off the {e}; read access is enough now.",
        "Owns the credential rotations of the {e} landing zone.",
    ]
    for user_id, count in per_user.items():
        role = initial[user_id]
        # Requests spread over the window; each is decided before the next one is made.
        times = sorted(_between(rng, ctx.start, ctx.now - 3 * HOUR) for _ in range(count))
        for n, at in enumerate(times):
            next_at = times[n + 1] if n + 1 < count else ctx.now - HOUR
            options = [r for r in (Role.VIEWER, Role.ANALYST, Role.ENGAGEMENT_MANAGER, Role.CLIENT_ADMIN) if r != role]
            requested = rng.choices(options, weights=[1 if r == Role.CLIENT_ADMIN else 3 for r in options], k=1)[0]
            last = n == count - 1
            status = _weighted(rng, [("APPROVED", 60), ("REJECTED", 20), ("PENDING", 20 if last else 0)])
            requested_by = manager if requested != Role.CLIENT_ADMIN and rng.random() < 0.6 else admin
            # Deciding needs a rank above the requested role: client admins up to manager,
            # the platform admin for client_admin; never the requester.
            approver = ctx.platform_admin_id if requested == Role.CLIENT_ADMIN or requested_by == admin else admin
            approval_id = new_id(rng)
            engagement = rng.choice(world.engagements)["name"]
            # Decisions, like everything seeded, happen before the reference time.
            decided_at = None
            if status != "PENDING":
                decided_at = at + max(dt.timedelta(seconds=1), min(dt.timedelta(hours=rng.randint(1, 70)), (next_at - at) / 2))
            expires = at + 7 * DAY
            approvals.append(
                {
                    "id": approval_id, "created_at": at, "updated_at": decided_at or at, "client_account_id": world.id,
                    "requested_by_id": requested_by, "target_user_id": user_id, "current_role": role, "requested_role": requested,
                    "justification": rng.choice(justifications).format(w=rng.randint(1, 5), e=engagement),
                    "status": status, "approved_by_id": approver if decided_at else None,
                    "notes": "" if status == "PENDING" else rng.choice(["", "Approved for the duration of the wave.", "Confirmed with the engagement lead.", "Not needed: use a credential grant instead."]),
                    "requested_at": at, "approved_at": decided_at, "expires_at": expires,
                }
            )
            events.append(
                audit_row(
                    world, rng, at=at, event_type="role_change_requested", category=AuditCategory.ROLE_CHANGE,
                    description=f"Role change requested for {user_id}: {role} -> {requested}.",
                    actor=requested_by, target=user_id,
                    details={"approval_id": str(approval_id), "current_role": role, "requested_role": requested},
                    path="/api/v1/role-changes/", method="POST",
                )
            )
            if status == "APPROVED":
                escalation = ROLE_RANK[requested] > ROLE_RANK[role]
                events.append(
                    audit_row(
                        world, rng, at=decided_at, event_type="role_escalation" if escalation else "role_change",
                        category=AuditCategory.ROLE_CHANGE, severity=Severity.WARNING if escalation else Severity.INFO,
                        description=f"Role changed from {role} to {requested}.", actor=approver, target=user_id,
                        details={"old_role": role, "new_role": requested, "escalation": escalation, "approval_id": str(approval_id)},
                        path=f"/api/v1/role-changes/{approval_id}/approve/", method="POST",
                    )
                )
                role = requested
            elif status == "REJECTED":
                events.append(
                    audit_row(
                        world, rng, at=decided_at, event_type="role_change_rejected", category=AuditCategory.ROLE_CHANGE,
                        description=f"Rejected the request for {user_id} to become {requested}.", actor=approver, target=user_id,
                        details={"approval_id": str(approval_id), "requested_role": requested, "notes": approvals[-1]["notes"]},
                        path=f"/api/v1/role-changes/{approval_id}/reject/", method="POST",
                    )
                )
        final_roles[user_id] = role
    world.staff = [(user_id, final_roles.get(user_id, role)) for user_id, role in world.staff]
    for row in world.memberships:
        if row["user_id"] in final_roles:
            row["role"] = final_roles[row["user_id"]]
    return approvals, events


def audit_row(
    world: TenantWorld, rng: random.Random, *, at, event_type, category, description, severity=Severity.INFO,
    actor=None, target=None, engagement_id=None, details=None, path="", method="", ip=None, user_agent=None,
    suspicious=False, requires_review=False, blocked=False,
) -> dict:
    return {
        "id": new_id(rng), "created_at": at, "updated_at": at, "client_account_id": world.id, "engagement_id": engagement_id,
        "event_type": event_type, "event_category": category, "severity": severity, "actor_user_id": actor, "target_user_id": target,
        "ip_address": ip or world.office_ip(rng), "user_agent": user_agent if user_agent is not None else rng.choice(BROWSER_AGENTS),
        "request_path": path, "request_method": method, "description": description, "details": details or {},
        "is_suspicious": suspicious, "requires_review": requires_review or suspicious, "is_blocked": blocked,
        "reviewed_at": None, "reviewed_by_id": None,
    }


# --- Master flows ---------------------------------------------------------------------

FLOW_TYPE_WEIGHTS = [
    (FlowType.DISCOVERY, 25), (FlowType.ASSESSMENT, 20), (FlowType.COLLECTION, 10), (FlowType.PLANNING, 12),
    (FlowType.EXECUTION, 10), (FlowType.MODERNIZE, 8), (FlowType.FINOPS, 7), (FlowType.OBSERVABILITY, 4), (FlowType.DECOMMISSION, 4),
]
SETTLED_FLOW_WEIGHTS = [
    (FlowStatus.COMPLETED, 75), (FlowStatus.FAILED, 10), (FlowStatus.CANCELLED, 5), (FlowStatus.PAUSED, 5), (FlowStatus.WAITING_FOR_APPROVAL, 5),
]
IN_PROGRESS_FLOW_STATUSES = (FlowStatus.ACTIVE, FlowStatus.PROCESSING)


def flows(world: TenantWorld) -> Iterator[dict]:
    """Master flows of every engagement (MasterFlowFactory), with their phase transitions."""
    ctx = world.ctx
    rng = world.rng("flows")
    world.reseed_factories("flows")
    window = ctx.profile.activity_days
    for engagement in world.engagements:
        engagement_obj = world.engagement_objs[engagement["id"]]
        discovery_flows = []
        created_times = sorted(
            ctx.now - dt.timedelta(days=4) - dt.timedelta(seconds=int(rng.random() * (window - 5) * 86400))
            for _ in range(ctx.profile.flows_per_engagement)
        )
        for created in created_times:
            flow_type = _weighted(rng, FLOW_TYPE_WEIGHTS)
            age_days = (ctx.now - created).days
            status = _weighted(rng, SETTLED_FLOW_WEIGHTS if age_days > 45 else FLOW_STATUS_WEIGHTS)
            parent = None
            if flow_type in (FlowType.ASSESSMENT, FlowType.PLANNING, FlowType.COLLECTION) and discovery_flows and rng.random() < 0.4:
                parent = rng.choice(discovery_flows[-5:])
            # Flows are started by the engagement lead or, a third of the time, by a staffed user.
            user_id = engagement["engagement_lead_id"]
            if world.staff and rng.random() < 0.33:
                user_id = rng.choice(world.staff)[0]
            flow = MasterFlowFactory.build(
                id=new_id(rng), flow_id=new_id(rng), engagement=engagement_obj, user=world.user_objs.get(user_id),
                flow_type=flow_type, flow_status=status, created_at=created, parent_flow=parent,
                flow_name=f"{FlowType(flow_type).label}: {engagement['name']}",
            )
            transitions = [(t["to"], dt.datetime.fromisoformat(t["at"])) for t in flow.phase_transitions]
            last_change = max([created] + [at for _, at in transitions] + [dt.datetime.fromisoformat(e["at"]) for e in flow.error_history])
            flow.updated_at = last_change
            if flow_type == FlowType.DISCOVERY:
                discovery_flows.append(flow)
            world.flows.append(FlowFacts(flow.id, engagement["id"], flow_type, status, user_id, transitions))
            yield _instance_dict(flow)


# --- Agent tasks and their LLM calls -----------------------------------------------------

_CONTEXT_OF_AGENT = {agent: (page, feature) for page, feature, agent in CALL_CONTEXTS}
# The crew agents without a page of their own call the LLM from the closest page.
_CONTEXT_OF_AGENT.update({
    "Platform Detection Agent": ("asset_inventory", "platform_detection"),
    "Migration Execution Agent": ("wave_planning", "migration_execution"),
    "Validation Agent": ("wave_planning", "migration_validation"),
    "Code Analysis Agent": ("six_r_review", "code_analysis"),
    "Containerization Agent": ("six_r_review", "containerization"),
    "Cost Optimization Agent": ("finops_dashboard", "cost_optimization"),
    "Rightsizing Agent": ("finops_dashboard", "rightsizing"),
    "Observability Agent": ("risk_dashboard", "observability"),
    "Decommission Agent": ("wave_planning", "decommission_planning"),
    "Data Archival Agent": ("data_cleansing", "data_archival"),
})
_SETTLED_TASK_STATUS = [(AgentTaskStatus.COMPLETED, 1 - QUALITY["task_failed"] - QUALITY["task_timeout"]),
                        (AgentTaskStatus.FAILED, QUALITY["task_failed"]), (AgentTaskStatus.TIMEOUT, QUALITY["task_timeout"])]
_IN_PROGRESS = [AgentTaskStatus.RUNNING, AgentTaskStatus.THINKING, AgentTaskStatus.WAITING_LLM, AgentTaskStatus.PROCESSING_RESPONSE]
_MODEL_DAYS = sorted({m[5] for m in MODEL_MIX})


@dataclass
class LLMCall:
    at: dt.datetime
    model_index: int
    input_tokens: int
    output_tokens: int
    failure: tuple | None


def _call(rng, cache, at: dt.datetime, *, failure=None, spike: bool = False, low=(800, 6000), high=(120, 1500)) -> LLMCall:
    """One call at ``at`` to a model priced then; embedding calls have input tokens only."""
    model_index = _pick_model(rng, at, cache)
    if failure:
        return LLMCall(at, model_index, 0, 0, failure)
    if MODEL_MIX[model_index][3].endswith("/embeddings"):
        return LLMCall(at, model_index, rng.randint(40, 8000), 0, None)
    if spike:
        return LLMCall(at, model_index, rng.randint(90_000, 126_000), rng.randint(2_000, 8_000), None)
    return LLMCall(at, model_index, rng.randint(*low), rng.randint(*high), None)


def _pick_model(rng: random.Random, at: dt.datetime, cache: dict) -> int:
    day = at.date()
    key = bisect.bisect_right(_MODEL_DAYS, day)
    if key not in cache:
        available = [i for i, m in enumerate(MODEL_MIX) if m[5] <= day] or list(range(len(MODEL_MIX)))
        cache[key] = (available, list(itertools.accumulate(MODEL_MIX[i][4] for i in available)))
    indices, cumulative = cache[key]
    return indices[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


def tasks_and_calls(world: TenantWorld) -> tuple[list[dict], list[dict]]:
    """Agent tasks of every flow, phase by phase, and one LLM usage row per LLM call of a task.

    A task's llm_calls_count and token_usage are the count and token sums of its calls;
    the calls lie inside the task's run, are priced with the pricing in effect then and
    belong to the task's flow (engagement, user).
    """
    ctx = world.ctx
    rng = world.rng("tasks")
    model_cache: dict = {}
    tasks, calls = [], []
    counter = 0
    for flow in world.flows:
        crew = FLOW_CREWS[flow.flow_type]
        phases = flow.transitions
        in_progress_flow = flow.status in IN_PROGRESS_FLOW_STATUSES
        for p_index, (phase, phase_at) in enumerate(phases):
            last_phase = p_index == len(phases) - 1
            phase_end = phases[p_index + 1][1] if not last_phase else phase_at + dt.timedelta(hours=rng.randint(2, 30))
            runs = [(agent, k) for agent in crew for k in range(rng.randint(1, 3))]
            cursor = phase_at + dt.timedelta(seconds=rng.randint(5, 120))
            span = max(60.0, (phase_end - phase_at).total_seconds())
            for r_index, (agent, batch) in enumerate(runs):
                final_run = last_phase and r_index == len(runs) - 1
                started = cursor
                cursor = cursor + dt.timedelta(seconds=int(span / (len(runs) + 1) * rng.uniform(0.5, 1.5)))
                template = rng.choice(AGENT_TASKS[agent])
                # How the task ends.
                if final_run and in_progress_flow:
                    status = rng.choice(_IN_PROGRESS)
                    started = ctx.now - dt.timedelta(seconds=rng.randint(30, 3600))
                elif final_run and flow.status in (FlowStatus.WAITING_FOR_APPROVAL, FlowStatus.PAUSED) and rng.random() < 0.5:
                    status = AgentTaskStatus.PENDING
                elif final_run and flow.status == FlowStatus.FAILED:
                    status = rng.choice([AgentTaskStatus.FAILED, AgentTaskStatus.FAILED, AgentTaskStatus.TIMEOUT])
                else:
                    status = _weighted(rng, _SETTLED_TASK_STATUS)
                counter += 1
                if status == AgentTaskStatus.TIMEOUT:
                    duration = rng.uniform(600, 900)
                # Every tenant has at least one outlier of each kind (the 8th task), then by proportion.
                elif counter == 8 or rng.random() < QUALITY["task_very_long"]:
                    duration = rng.uniform(2 * 3600, 6 * 3600)
                else:
                    duration = min(1800.0, rng.lognormvariate(math.log(45), 0.9))
                finished = status in (AgentTaskStatus.COMPLETED, AgentTaskStatus.FAILED, AgentTaskStatus.TIMEOUT)
                completed_at = started + dt.timedelta(milliseconds=int(duration * 1000)) if finished else None
                if completed_at is not None and completed_at > ctx.now:
                    status, completed_at, finished = rng.choice(_IN_PROGRESS), None, False
                success = (status == AgentTaskStatus.COMPLETED) if finished else None

                # The LLM calls of the run.
                end = completed_at or ctx.now
                n_calls = 0 if status == AgentTaskStatus.PENDING else rng.randint(1, 4)
                spike = n_calls and (counter == 8 or rng.random() < QUALITY["task_token_spike"])
                task_calls = []
                for c in range(n_calls):
                    at = _between(rng, started, end)
                    failure = rng.choice(FAILURES) if rng.random() < QUALITY["llm_call_failed"] else None
                    if c == n_calls - 1 and status == AgentTaskStatus.FAILED and rng.random() < 0.5:
                        failure = FAILURES[0]
                    task_calls.append(_call(rng, model_cache, at, failure=failure, spike=spike and c == 0))
                tokens_in = sum(c.input_tokens for c in task_calls)
                tokens_out = sum(c.output_tokens for c in task_calls)
                missing = rng.random() < QUALITY["task_missing_optional"]
                n = rng.randint(*template[3])
                preview = ""
                if status == AgentTaskStatus.COMPLETED:
                    preview = template[2].format(n=n, a=rng.randint(1, n // 3 + 1), b=rng.randint(0, n // 5 + 1), c=rng.randint(0, n // 6 + 1))
                task_id = str(new_id(rng))
                task_row_id = new_id(rng)
                tasks.append(
                    {
                        "id": task_row_id, "created_at": started, "updated_at": completed_at or started,
                        "client_account_id": world.id, "engagement_id": flow.engagement_id, "flow_id": flow.id,
                        "agent_name": agent, "agent_type": AgentType.CREW_MEMBER if len(crew) > 1 else AgentType.INDIVIDUAL,
                        "task_id": task_id, "task_name": template[0] + (f" (batch {batch + 1})" if batch else ""),
                        "task_description": "" if missing else template[1], "started_at": started, "completed_at": completed_at,
                        "duration_seconds": Decimal(int((completed_at - started).total_seconds() * 1000)).scaleb(-3) if completed_at else None,
                        "status": status, "success": success, "result_preview": preview,
                        "error_message": rng.choice(TASK_ERRORS) if success is False else "",
                        "confidence_score": (Decimal(rng.randint(5500, 9900)).scaleb(-4) if status == AgentTaskStatus.COMPLETED and not missing else None),
                        "llm_calls_count": n_calls, "thinking_phases_count": rng.randint(0, n_calls),
                        "token_usage": {"input": tokens_in, "output": tokens_out, "total": tokens_in + tokens_out},
                        "memory_usage_mb": None if (missing or not finished) else Decimal(rng.randint(12000, 95000)).scaleb(-2),
                    }
                )
                if success:
                    world.completed_tasks.setdefault(flow.engagement_id, []).append(
                        TaskFacts(flow.engagement_id, flow, agent, task_id, phase, completed_at, success)
                    )
                page, feature = _CONTEXT_OF_AGENT[agent]
                for call in task_calls:
                    calls.append(_llm_row(world, rng, model_cache, call, flow=flow, agent=agent, task_id=task_id, page=page, feature=feature))
    # Client-level calls: portfolio views of admins and managers, outside any flow.
    extra = int(len(calls) * QUALITY["llm_client_level_call"])
    for _ in range(extra):
        at = _between(rng, ctx.start, ctx.now)
        failure = rng.choice(FAILURES) if rng.random() < QUALITY["llm_call_failed"] else None
        call = _call(rng, model_cache, at, failure=failure, low=(1500, 9000), high=(300, 2000))
        user = rng.choice([world.login_ids[Role.CLIENT_ADMIN], world.login_ids[Role.ENGAGEMENT_MANAGER]])
        calls.append(_llm_row(world, rng, model_cache, call, flow=None, agent="Portfolio Assistant", task_id="", page="portfolio_overview", feature="executive_summary", user=user))
    return tasks, calls


def _llm_row(world, rng, model_cache, call: LLMCall, *, flow: FlowFacts | None, agent, task_id, page, feature, user=None) -> dict:
    ctx = world.ctx
    provider, model_name, version, endpoint, _, _ = MODEL_MIX[call.model_index]
    pricing = ctx.pricing.pricing(call.model_index, call.at)
    embedding = endpoint.endswith("/embeddings")
    input_tokens, output_tokens = call.input_tokens, call.output_tokens
    input_cost, output_cost = ctx.pricing.cost(pricing, input_tokens, output_tokens)
    if call.failure and call.failure[0] == "timeout":
        response_ms = 60000
    elif embedding:
        response_ms = rng.randint(60, 700)
    else:
        response_ms = rng.randint(350, 900) + output_tokens * rng.randint(8, 25)
    finish = "length" if input_tokens > 90_000 else "stop"
    return {
        "id": new_id(rng), "created_at": call.at, "updated_at": call.at, "client_account_id": world.id,
        "engagement_id": flow.engagement_id if flow else None, "flow_id": flow.id if flow else None,
        "user_id": user if user is not None else (flow.user_id if flow else None), "pricing_id": pricing.pk,
        "request_id": REQUEST_ID_PREFIX.get(provider, "req-") + f"{rng.getrandbits(96):024x}", "endpoint": endpoint,
        "page_context": page, "feature_context": "pattern_embedding" if embedding else feature,
        "llm_provider": provider, "model_name": model_name, "model_version": version,
        "input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens,
        "input_cost": input_cost, "output_cost": output_cost, "total_cost": input_cost + output_cost, "currency": pricing.currency,
        "response_time_ms": response_ms, "success": call.failure is None,
        "error_type": call.failure[0] if call.failure else "", "error_message": call.failure[1] if call.failure else "",
        "request_metadata": {"agent": agent, "task_id": task_id or None, "temperature": 0.0 if embedding else 0.2, "max_tokens": None if embedding else 4096},
        "response_metadata": {} if call.failure else ({"dimensions": 1536} if embedding else {"finish_reason": finish}),
        "ip_address": f"10.{world.position % 250}.200.{rng.randint(2, 254)}", "user_agent": LLM_USER_AGENT,
    }


# --- Credentials ------------------------------------------------------------------------

FIRST_CREDENTIAL_STATUSES = [CredentialStatus.ACTIVE, CredentialStatus.EXPIRED, CredentialStatus.PENDING_ROTATION, CredentialStatus.REVOKED]
ACCESS_PURPOSES = [
    "Asset Inventory Agent: nightly discovery run",
    "Dependency Analysis Agent: collect network flows",
    "Platform Detection Agent: fingerprint endpoints",
    "Rightsizing Agent: read 30-day performance history",
    "Migration Wave Planner: validate target landing zone",
    "connectivity check before the wave cut-over",
]


def credentials(world: TenantWorld) -> dict[str, list[dict]]:
    """Credentials (PlatformCredentialFactory) with access logs, rotations, grants and audit events.

    Expired and revoked credentials keep their history and show refused accesses after
    the fact; pending-rotation ones expire within two weeks of the reference time. Every
    secret reveal, refusal, rotation and grant has the audit event its service writes.
    """
    ctx = world.ctx
    rng = world.rng("credentials")
    world.reseed_factories("credentials")
    out = {"credentials": [], "access_logs": [], "rotations": [], "permissions": [], "events": []}
    admin = world.login_ids[Role.CLIENT_ADMIN]
    manager = world.login_ids[Role.ENGAGEMENT_MANAGER]
    analyst = world.login_ids[Role.ANALYST]
    viewer = world.login_ids[Role.VIEWER]
    adapters = [name for name in CREDENTIAL_PROFILES if name in ctx.adapters]
    used_names: set = set()
    for engagement in world.engagements:
        engagement_obj = world.engagement_objs[engagement["id"]]
        for _ in range(ctx.profile.credentials_per_engagement):
            adapter_name = rng.choice(adapters)
            credential_type, names = CREDENTIAL_PROFILES[adapter_name]
            base = rng.choice(names)
            name = f"{base}-{engagement['slug'][:24]}".rstrip("-")
            while (adapter_name, name) in used_names:
                name = f"{base}-{engagement['slug'][:20]}-{rng.randint(2, 99)}"
            used_names.add((adapter_name, name))
            # Credentials predate the activity window, so they carry a rotation history.
            created = ctx.start - dt.timedelta(days=rng.randint(20, 300), hours=rng.randint(8, 18))
            # The first four of a tenant show every status; the rest follow the proportions.
            status = FIRST_CREDENTIAL_STATUSES[len(out["credentials"])] if len(out["credentials"]) < 4 else _weighted(rng, [
                (CredentialStatus.ACTIVE, 1 - QUALITY["credential_expired"] - QUALITY["credential_pending_rotation"] - QUALITY["credential_revoked"]),
                (CredentialStatus.EXPIRED, QUALITY["credential_expired"]),
                (CredentialStatus.PENDING_ROTATION, QUALITY["credential_pending_rotation"]),
                (CredentialStatus.REVOKED, QUALITY["credential_revoked"]),
            ])
            # Rotations every ~90 days from creation; the last successful one set the expiry.
            rotations, at, expires = [], created, created + dt.timedelta(days=90)
            while expires - dt.timedelta(days=10) < ctx.now - dt.timedelta(days=5) and at < ctx.now - 20 * DAY:
                rotated_at = expires - dt.timedelta(days=rng.randint(2, 10))
                failed = rng.random() < QUALITY["credential_rotation_failed"]
                new_expires = rotated_at + dt.timedelta(days=90)
                rotations.append((rotated_at, expires, new_expires, failed))
                if failed:
                    rotated_at = rotated_at + dt.timedelta(hours=rng.randint(2, 20))
                    rotations.append((rotated_at, expires, new_expires, False))
                at, expires = rotated_at, new_expires
            last_rotated = at if rotations else None
            revoked_at = None
            if status == CredentialStatus.EXPIRED:
                expires = ctx.now - dt.timedelta(days=rng.randint(1, 25))
            elif status == CredentialStatus.PENDING_ROTATION:
                expires = ctx.now + dt.timedelta(days=rng.randint(1, 14))
            elif status == CredentialStatus.REVOKED:
                revoked_at = ctx.now - dt.timedelta(days=rng.randint(3, 40))
            elif rng.random() < 0.15:
                expires = None  # service accounts without an expiry
            credential = PlatformCredentialFactory.build(
                id=new_id(rng), engagement=engagement_obj, adapter_name=adapter_name,
                platform_adapter=ctx.adapters[adapter_name], credential_name=name, credential_type=credential_type,
                vault_provider=rng.choice([VaultProvider.LOCAL, VaultProvider.LOCAL, VaultProvider.HASHICORP_VAULT, VaultProvider.AWS_SECRETS_MANAGER]),
                status=status, expires_at=expires, last_rotated_at=last_rotated,
                last_validated_at=None if rng.random() < 0.1 else (revoked_at or ctx.now) - dt.timedelta(hours=rng.randint(1, 48)),
                created_by=world.user_objs[admin], created_at=created,
            )
            credential.updated_at = max(filter(None, [created, last_rotated, revoked_at]))
            row = _instance_dict(credential)
            out["credentials"].append(row)
            world.credentials.append(row)
            cid, eid = credential.id, engagement["id"]
            details = {"credential_id": str(cid), "credential_name": name}

            def access(at, access_type, user, purpose, success=True, reason=""):
                out["access_logs"].append({
                    "id": new_id(rng), "created_at": at, "updated_at": at, "client_account_id": world.id, "engagement_id": eid,
                    "credential_id": cid, "user_id": user, "access_type": access_type, "purpose": purpose, "success": success,
                    "failure_reason": reason, "accessed_at": at,
                    "ip_address": world.office_ip(rng), "user_agent": AGENT_USER_AGENT if user is None else rng.choice(BROWSER_AGENTS),
                })

            def event(at, event_type, description, user, extra=None, **flags):
                out["events"].append(audit_row(
                    world, rng, at=at, event_type=event_type, category=AuditCategory.CREDENTIAL_ACCESS, description=description,
                    actor=user, engagement_id=eid, details={**details, **(extra or {})}, **flags,
                ))

            access(created, CredentialAccessType.CREATE, admin, "credential created")
            event(created, "credential_created", f"Credential {name} created for {adapter_name}.", admin,
                  {"adapter": adapter_name, "credential_type": credential_type, "vault_provider": credential.vault_provider})

            # Grants: managers (role) read, the analyst read for a while, the admin rotates.
            grants = [(None, Role.ENGAGEMENT_MANAGER, PermissionType.READ, None, None),
                      (admin, "", PermissionType.ROTATE, None, None),
                      (analyst, "", PermissionType.READ, created + dt.timedelta(days=rng.randint(60, 200)), None)]
            if rng.random() < 0.3:
                grants.append((viewer, "", PermissionType.READ, None, created + dt.timedelta(days=rng.randint(5, 30))))
            for user, role, permission, grant_expires, revoked in grants:
                granted = created + dt.timedelta(minutes=rng.randint(5, 600))
                if revoked is not None and revoked > ctx.now:
                    revoked = None
                out["permissions"].append({
                    "id": new_id(rng), "created_at": granted, "updated_at": revoked or granted, "client_account_id": world.id,
                    "engagement_id": eid, "credential_id": cid, "user_id": user, "role": role, "permission_type": permission,
                    "granted_by_id": admin, "granted_at": granted, "expires_at": grant_expires, "revoked_at": revoked,
                })
                event(granted, "credential_permission_granted", f"{permission} on {name} granted.", admin,
                      {"permission_type": permission, "user_id": str(user) if user else None, "role": role})
            analyst_until = grants[2][3]

            for rotated_at, old_expires, new_expires, failed in rotations:
                rotation_type = _weighted(rng, [(RotationType.AUTOMATIC, 70), (RotationType.MANUAL, 20), (RotationType.FORCED, 10)])
                by = admin if rotation_type == RotationType.MANUAL else None
                reason = {"automatic": "90-day rotation policy", "manual": "owner left the project",
                          "forced": "key exposed in a CI log, rotated as a precaution"}[rotation_type]
                out["rotations"].append({
                    "id": new_id(rng), "created_at": rotated_at, "updated_at": rotated_at, "client_account_id": world.id,
                    "engagement_id": eid, "credential_id": cid, "rotation_type": rotation_type, "old_expires_at": old_expires,
                    "new_expires_at": new_expires, "reason": reason, "rotated_by_id": by, "rotated_at": rotated_at,
                    "success": not failed, "error_message": "Vault write failed: 503 Service Unavailable" if failed else "",
                })
                if not failed:
                    access(rotated_at, CredentialAccessType.ROTATE, by, f"{rotation_type} rotation: {reason}")
                    event(rotated_at, "credential_rotated", f"Credential {name} rotated ({rotation_type}).", by,
                          {"rotation_type": rotation_type, "reason": reason})

            # Use: agents validate and read on most days, people reveal the secret now and then.
            weeks = max(1, ctx.profile.activity_days // 7)
            for _ in range(int(weeks * ctx.profile.credential_accesses_per_week)):
                at = _between(rng, ctx.start, ctx.now)
                unusable = (revoked_at is not None and at >= revoked_at) or (
                    status == CredentialStatus.EXPIRED and expires is not None and at >= expires)
                if rng.random() < 0.8:
                    access_type = rng.choice([CredentialAccessType.VALIDATE, CredentialAccessType.READ])
                    reason = "" if not unusable else ("credential_revoked" if revoked_at else "credential_expired")
                    access(at, access_type, None, rng.choice(ACCESS_PURPOSES), success=not unusable, reason=reason)
                    continue
                user = rng.choice([manager, analyst, admin, viewer])
                purpose = rng.choice(["debug a failed discovery run", "configure the migration tool", "hand over to the replication team"])
                if unusable:
                    reason = "credential_revoked" if revoked_at else "credential_expired"
                elif user == viewer or (user == analyst and analyst_until is not None and at >= analyst_until):
                    reason = "no_read_permission"
                elif user == admin:
                    reason = "no_read_permission"  # holds rotate, not read
                else:
                    reason = ""
                access(at, CredentialAccessType.DECRYPT, user, purpose, success=not reason, reason=reason)
                if reason:
                    event(at, "credential_decrypt_refused", f"Secret of {name} refused: {reason}.", user,
                          {"access_type": "decrypt", "reason": reason, "purpose": purpose},
                          severity=Severity.WARNING, requires_review=True)
                else:
                    event(at, "credential_secret_revealed", f"Secret of credential {name} revealed.", user,
                          {"purpose": purpose, "encryption_key_id": credential.encryption_key_id})
    return out


# --- Security activity ------------------------------------------------------------------


def security_activity(world: TenantWorld) -> list[dict]:
    """Logins, API tokens, admin access and searches of every user, plus suspicious bursts."""
    ctx = world.ctx
    rng = world.rng("security")
    rows = []
    people = [(user_id, role) for role, user_id in world.login_ids.items()] + list(world.staff)
    days = ctx.profile.activity_days
    for user_id, role in people:
        active_days = int(days / 7 * ctx.profile.active_days_per_user_week * rng.uniform(0.6, 1.2))
        ip = world.office_ip(rng)
        agent = rng.choice(BROWSER_AGENTS)
        for _ in range(active_days):
            day = ctx.start + dt.timedelta(days=rng.randint(0, days - 1))
            at = day.replace(hour=rng.randint(7, 18), minute=rng.randint(0, 59), second=rng.randint(0, 59))
            if at >= ctx.now:
                continue
            if rng.random() < QUALITY["login_failed"]:
                rows.append(audit_row(world, rng, at=at - dt.timedelta(minutes=1), event_type="login_failed",
                                      category=AuditCategory.AUTHENTICATION, severity=Severity.WARNING,
                                      description="Wrong password for a known account.", target=user_id,
                                      path="/admin/login/", method="POST", ip=ip, user_agent=agent))
            rows.append(audit_row(world, rng, at=at, event_type="login_succeeded", category=AuditCategory.AUTHENTICATION,
                                  description="Session login.", actor=user_id, path="/admin/login/", method="POST", ip=ip, user_agent=agent))
            if rng.random() < 0.3:
                issued = at + dt.timedelta(seconds=20)
                rows.append(audit_row(world, rng, at=issued, event_type="api_token_issued",
                                      category=AuditCategory.AUTHENTICATION, description="API token issued.", actor=user_id,
                                      path="/api/v1/auth/token/", method="POST", ip=ip, user_agent=API_AGENT))
                world.api_tokens.append(api_token_row(rng, user_id, issued, ctx.now))
            follow = at
            for _ in range(rng.randint(0, 3)):
                follow = follow + dt.timedelta(minutes=rng.randint(1, 50))
                if follow >= ctx.now:
                    break
                if role in (Role.CLIENT_ADMIN, Role.ENGAGEMENT_MANAGER) and rng.random() < 0.6:
                    page = rng.choice(ADMIN_PAGES)
                    rows.append(audit_row(world, rng, at=follow, event_type="admin_access", category=AuditCategory.ADMIN_ACCESS,
                                          description=f"Admin GET {page}", actor=user_id, path=page, method="GET", ip=ip, user_agent=agent))
                else:
                    engagement = rng.choice(world.engagement_ids)
                    rows.append(audit_row(world, rng, at=follow, event_type="pattern_search", category=AuditCategory.DATA_ACCESS,
                                          description="Similarity search over discovered patterns.", actor=user_id, engagement_id=engagement,
                                          path="/api/v1/patterns/search/", method="POST", ip=ip, user_agent=agent,
                                          details={"k": rng.choice([5, 10, 20]), "scope": rng.choice(["engagement", "client"])}))
    # Suspicious bursts: password spraying from a hostile address, forged tenant headers.
    admin = world.login_ids[Role.CLIENT_ADMIN]
    for week in range(days // 7):
        if rng.random() >= QUALITY["suspicious_burst_per_tenant_week"]:
            continue
        at = ctx.start + dt.timedelta(days=week * 7 + rng.randint(0, 6), hours=rng.randint(0, 23))
        hostile = f"{rng.choice(HOSTILE_NETWORKS)}.{rng.randint(1, 254)}"
        burst = []
        if rng.random() < 0.7:
            targets = [user_id for user_id, _ in people]
            for i in range(rng.randint(8, 40)):
                burst.append(audit_row(world, rng, at=at + dt.timedelta(seconds=7 * i), event_type="login_failed",
                                       category=AuditCategory.AUTHENTICATION, severity=Severity.WARNING,
                                       description="Wrong password; many accounts from one address.", target=rng.choice(targets),
                                       path="/api/v1/auth/token/", method="POST", ip=hostile, user_agent="python-requests/2.31.0",
                                       suspicious=True, blocked=i > 5, details={"pattern": "password_spraying", "attempt": i + 1}))
        else:
            actor = rng.choice(people)[0]
            burst.append(audit_row(world, rng, at=at, event_type="forged_tenant_header", category=AuditCategory.SECURITY_VIOLATION,
                                   severity=Severity.WARNING, actor=actor, path="/api/v1/patterns/", method="GET", ip=hostile,
                                   description="X-Client-Account-Id names a client account the user is not a member of.",
                                   suspicious=True, blocked=True, details={"header": "X-Client-Account-Id"}))
        reviewed = rng.random() < 0.6 and at + 3 * DAY < ctx.now
        for row in burst:
            if reviewed:
                row["reviewed_at"] = at + dt.timedelta(days=rng.randint(1, 3))
                row["reviewed_by_id"] = admin
                row["updated_at"] = row["reviewed_at"]
        rows.extend(burst)
    return rows


def api_token_row(rng: random.Random, user_id, issued: dt.datetime, now: dt.datetime) -> dict:
    """A week-long token issued before the reference time (so long expired): none of them logs in.

    Keys start with SEEDED_TOKEN_PREFIX (how a re-run finds its own tokens); only the
    digest is stored, as api_token_create does.
    """
    key = f"{SEEDED_TOKEN_PREFIX}{rng.getrandbits(192):048x}"
    expires = issued + 7 * DAY
    revoked = issued + dt.timedelta(hours=rng.randint(1, 100)) if rng.random() < 0.25 else None
    if revoked is not None and revoked >= expires:
        revoked = None
    return {
        "id": new_id(rng), "user_id": user_id, "key_digest": token_digest(key), "key_prefix": key[:8],
        "created_at": issued, "expires_at": expires, "revoked_at": revoked,
        "last_used_at": _between(rng, issued, revoked or expires) if rng.random() < 0.8 else None,
    }


# --- Patterns ---------------------------------------------------------------------------

DETAILS = [
    "Observed on {n} hosts in the {site}.",
    "Seen in {n} applications scheduled for {wave}.",
    "Confirmed by {n} discovery runs in the {site}.",
    "Affects {n} servers of {wave} in the {site}.",
]


@dataclass
class PatternDraft:
    row: dict
    text: str
    embed: bool


def pattern_drafts(world: TenantWorld, count: int) -> list[PatternDraft]:
    """``count`` patterns in families: members repeat one finding with different evidence.

    A family is one finding template filled with one technology pair; its members differ
    in the evidence sentence (site, wave, numbers), so they are each other's nearest
    neighbours. Near-duplicates copy a member with one number changed; a few patterns
    are left without an embedding for the backfill. Members refer to completed tasks of
    their engagement (agent and task id).
    """
    ctx = world.ctx
    rng = world.rng("patterns")
    families = []
    seen_texts: set = set()
    pattern_types = list(FINDINGS)
    while sum(size for *_, size in families) < count:
        pattern_type = rng.choice(pattern_types)
        template = rng.choice(FINDINGS[pattern_type])
        a, b = rng.sample(TECHNOLOGIES, 2)
        name, description = template[0].format(a=a, b=b), template[1].format(a=a, b=b)
        if (name, description) in seen_texts:
            if len(seen_texts) > 20 * len(FINDINGS) * len(TECHNOLOGIES):
                a = f"{a} cluster {rng.randint(2, 99)}"
                name, description = template[0].format(a=a, b=b), template[1].format(a=a, b=b)
            else:
                continue
        seen_texts.add((name, description))
        families.append((pattern_type, name, description, f"{slugify(pattern_type)}:{slugify(name)[:60]}", rng.randint(4, 16)))
    drafts: list[PatternDraft] = []
    engagements = world.engagements
    for pattern_type, name, description, family_key, size in families:
        home = rng.choice(engagements)
        for _ in range(size):
            if len(drafts) >= count:
                break
            engagement = home if rng.random() < 0.7 else rng.choice(engagements)
            if drafts and rng.random() < QUALITY["pattern_near_duplicate"] and drafts[-1].row["execution_context"]["finding_group"] == family_key:
                # Re-reported by another run with other formatting: same words, so similarity ~1.
                member_description = drafts[-1].row["pattern_description"].replace("\n", "  ").replace(".", ";") + " "
            else:
                detail = rng.choice(DETAILS).format(n=rng.randint(2, 400), site=rng.choice(SITES), wave=rng.choice(WAVES))
                missing = rng.random() < QUALITY["pattern_missing_optional"]
                member_description = description if missing else f"{description}\n{detail}"
            drafts.append(_pattern_draft(world, rng, pattern_type, name, member_description, family_key, engagement))
    return drafts


def _pattern_draft(world, rng, pattern_type, name, description, family_key, engagement) -> PatternDraft:
    ctx = world.ctx
    tasks = world.completed_tasks.get(engagement["id"]) or []
    task = rng.choice(tasks) if tasks and rng.random() >= QUALITY["pattern_missing_optional"] else None
    created = task.completed_at if task else _between(rng, ctx.start, ctx.now - HOUR)
    agent = task.agent_name if task else rng.choice(list(AGENT_TASKS)[:7])
    if rng.random() < QUALITY["pattern_low_confidence"]:
        confidence = round(rng.uniform(0.12, 0.35), 3)
    else:
        confidence = round(min(0.99, max(0.4, rng.gauss(0.78, 0.1))), 3)
    evidence_count = rng.randint(1, 12)
    evidence = [
        {"recorded_at": (created + dt.timedelta(hours=6 * i)).isoformat(), "agent": agent, "task_id": task.task_id if task else "",
         "confidence_score": round(min(0.99, confidence + rng.uniform(-0.05, 0.05)), 3), "pattern_name": name}
        for i in range(min(evidence_count, 3))
    ]
    data = {"evidence": evidence}
    effectiveness = None
    if rng.random() >= QUALITY["pattern_unrated"]:
        helpful, not_helpful = rng.randint(0, 12), rng.randint(0, 5)
        data["feedback_summary"] = {"helpful": helpful, "not_helpful": not_helpful}
        effectiveness = (helpful + 1) / (helpful + not_helpful + 2)
    references = int(rng.paretovariate(1.5)) - 1
    last_used = _between(rng, created, ctx.now) if references > 0 else None
    embed = rng.random() >= QUALITY["pattern_without_embedding"]
    row = {
        "id": new_id(rng), "created_at": created, "updated_at": last_used or created, "client_account_id": world.id,
        "engagement_id": engagement["id"], "pattern_id": f"{pattern_type.lower()}-{rng.getrandbits(48):012x}",
        "pattern_type": pattern_type, "insight_type": INSIGHT_TYPE_FOR_PATTERN_TYPE[pattern_type], "pattern_name": name,
        "pattern_description": description, "discovered_by_agent": agent, "task_id": task.task_id if task else "",
        "confidence_score": confidence, "evidence_count": evidence_count, "times_referenced": min(references, 500),
        "pattern_effectiveness_score": effectiveness, "pattern_data": data,
        "execution_context": {
            "flow_type": task.flow.flow_type if task else "discovery", "phase": task.phase if task else None,
            "crew": f"{task.flow.flow_type if task else 'discovery'}_crew", "finding_group": family_key,
        },
        "last_used_at": last_used, "embedding": None, "embedding_model": "",
    }
    return PatternDraft(row=row, text=pattern_text(pattern_name=name, pattern_description=description), embed=embed)
