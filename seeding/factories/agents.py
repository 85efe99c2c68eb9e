import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone
from factory.random import randgen

from modernize.agents.models import (
    FINISHED_TASK_STATUSES,
    AgentPerformanceDaily,
    AgentTaskHistory,
    AgentTaskStatus,
    AgentType,
)
from seeding.factories.base import ModernizeFactory
from seeding.factories.flows import MasterFlowFactory
from seeding.factories.tenancy import EngagementFactory

# agent -> [(task name, description, result preview template, range of the item count n)]
AGENT_TASKS = {
    "Asset Inventory Agent": [
        ("Classify discovered assets", "Classify CMDB records into servers, databases, applications and network devices.",
         "Classified {n} assets: {a} servers, {b} databases, {c} applications.", (80, 4000)),
        ("Deduplicate asset records", "Merge duplicate hosts reported by vCenter and ServiceNow.", "Merged {a} duplicate records out of {n}.", (80, 4000)),
    ],
    "Dependency Analysis Agent": [
        ("Map application dependencies", "Build the application-to-server dependency graph from netflow and CMDB relations.",
         "Found {n} dependencies across {a} applications; {b} circular dependencies flagged.", (40, 1500)),
        ("Identify shared databases", "Detect databases shared by several applications.", "{a} databases are shared by more than one application.", (10, 300)),
    ],
    "Six R Strategy Agent": [
        ("Recommend 6R treatment", "Recommend rehost, replatform, refactor, repurchase, retire or retain per application.",
         "Recommended treatments for {n} applications: {a} rehost, {b} replatform, {c} refactor.", (10, 400)),
    ],
    "Migration Wave Planner": [
        ("Plan migration waves", "Group applications into waves that respect dependencies and blackout windows.",
         "Planned {a} waves for {n} applications; first wave has {b} low-risk apps.", (10, 400)),
    ],
    "Data Cleansing Agent": [
        ("Cleanse imported inventory", "Normalise hostnames, operating systems and environment labels.",
         "Normalised {n} rows; fixed {a} OS names and {b} environment labels.", (200, 25000)),
    ],
    "Field Mapping Agent": [
        ("Map import fields", "Map columns of the uploaded spreadsheet to the asset schema.",
         "Mapped {a} of {n} columns automatically; {b} need review.", (12, 90)),
    ],
    "Risk Assessment Agent": [
        ("Assess migration risk", "Score technical and business risk per application.",
         "Scored {n} applications; {a} high-risk, {b} medium-risk.", (10, 400)),
    ],
    "Platform Detection Agent": [
        ("Detect source platforms", "Fingerprint hypervisors, clouds and CMDBs reachable with the client's credentials.",
         "Detected {a} platforms across {n} endpoints; {b} need credentials.", (5, 120)),
    ],
    "Migration Execution Agent": [
        ("Run replication job", "Start block-level replication of the wave's servers to the target landing zone.",
         "Replicated {n} GB for {a} servers; {b} still syncing.", (50, 9000)),
        ("Execute cutover runbook", "Run the cutover runbook: freeze, final sync, DNS switch, smoke tests.",
         "Cut over {a} of {n} servers; {b} rolled back.", (4, 120)),
    ],
    "Validation Agent": [
        ("Validate migrated workloads", "Compare health checks, ports and data checksums before and after migration.",
         "Validated {n} workloads; {a} checks failed, {b} warnings.", (4, 300)),
    ],
    "Code Analysis Agent": [
        ("Analyse application code", "Scan repositories for framework versions, cloud blockers and hard-coded endpoints.",
         "Scanned {n} repositories; {a} cloud blockers, {b} hard-coded endpoints.", (3, 250)),
    ],
    "Containerization Agent": [
        ("Generate container images", "Write Dockerfiles and Helm charts for the stateless services.",
         "Containerised {a} of {n} services; {b} need manual changes.", (3, 80)),
    ],
    "Cost Optimization Agent": [
        ("Build cost baseline", "Price the current estate and the target architecture per application.",
         "Baseline covers {n} applications; {a} are cheaper on the target, {b} more expensive.", (10, 400)),
    ],
    "Rightsizing Agent": [
        ("Recommend instance sizes", "Size target instances from 30 days of CPU, memory and IOPS history.",
         "Rightsized {n} servers; {a} downsized, {b} upsized.", (20, 3000)),
    ],
    "Observability Agent": [
        ("Onboard telemetry", "Connect migrated workloads to logging, metrics and tracing.",
         "Onboarded {a} of {n} workloads; {b} missing agents.", (5, 400)),
    ],
    "Decommission Agent": [
        ("Plan server decommission", "List servers with no traffic for 60 days after cutover and their owners.",
         "{a} of {n} servers are safe to switch off; {b} still receive traffic.", (5, 600)),
    ],
    "Data Archival Agent": [
        ("Archive retired data", "Move retired databases to cold storage under the retention policy.",
         "Archived {n} GB from {a} databases; {b} under legal hold.", (10, 5000)),
    ],
}

AGENT_NAMES = list(AGENT_TASKS)

TASK_ERRORS = [
    "LLM provider returned 429 Too Many Requests after 3 retries",
    "Structured output did not match the expected JSON schema",
    "Context length exceeded: 131072 tokens requested",
    "Source CMDB export is empty for the selected scope",
    "Tool call 'query_vcenter' failed: authentication expired",
]

STATUS_WEIGHTS = [
    (AgentTaskStatus.COMPLETED, 70),
    (AgentTaskStatus.FAILED, 11),
    (AgentTaskStatus.TIMEOUT, 3),
    (AgentTaskStatus.RUNNING, 6),
    (AgentTaskStatus.THINKING, 4),
    (AgentTaskStatus.WAITING_LLM, 4),
    (AgentTaskStatus.PENDING, 2),
]


def _weighted(choices):
    values, weights = zip(*choices)
    return randgen.choices(values, weights=weights, k=1)[0]


def _finished(o) -> bool:
    return o.status in FINISHED_TASK_STATUSES


def _started_at(o) -> dt.datetime:
    latest = timezone.now() - dt.timedelta(minutes=30)
    return min(o.flow.created_at + dt.timedelta(minutes=randgen.randint(5, 60 * 24 * 30)), latest)


def _preview(o) -> str:
    if o.status != AgentTaskStatus.COMPLETED:
        return ""
    n = randgen.randint(*o._task[3])
    if o.agent_name == "Field Mapping Agent":
        mapped = randgen.randint(n // 2, n)
        return o._task[2].format(n=n, a=mapped, b=n - mapped)
    return o._task[2].format(n=n, a=randgen.randint(1, n // 3 + 1), b=randgen.randint(0, n // 5 + 1), c=randgen.randint(0, n // 6 + 1))


def _token_usage(o) -> dict:
    calls = o.llm_calls_count
    tokens_in = sum(randgen.randint(800, 6000) for _ in range(calls))
    tokens_out = sum(randgen.randint(120, 1500) for _ in range(calls))
    return {"input": tokens_in, "output": tokens_out, "total": tokens_in + tokens_out}


class AgentTaskHistoryFactory(ModernizeFactory):
    """``AgentTaskHistoryFactory(engagement=e)`` or ``(flow=f)``: the task is in the flow's engagement."""

    class Meta:
        model = AgentTaskHistory
        exclude = ["_task", "_duration_ms"]

    engagement = factory.SubFactory(EngagementFactory)
    client_account = factory.SelfAttribute("engagement.client_account")
    flow = factory.SubFactory(MasterFlowFactory, engagement=factory.SelfAttribute("..engagement"))
    agent_name = factory.Faker("random_element", elements=list(AGENT_TASKS))
    agent_type = factory.LazyFunction(lambda: AgentType.CREW_MEMBER if randgen.random() < 0.7 else AgentType.INDIVIDUAL)
    _task = factory.LazyAttribute(lambda o: randgen.choice(AGENT_TASKS[o.agent_name]))
    task_id = factory.Faker("uuid4")
    task_name = factory.LazyAttribute(lambda o: o._task[0])
    task_description = factory.LazyAttribute(lambda o: o._task[1])
    status = factory.LazyFunction(lambda: _weighted(STATUS_WEIGHTS))
    started_at = factory.LazyAttribute(_started_at)
    _duration_ms = factory.LazyAttribute(
        lambda o: randgen.randint(600_000, 900_000) if o.status == AgentTaskStatus.TIMEOUT else randgen.randint(1_500, 420_000)
    )
    completed_at = factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(milliseconds=o._duration_ms) if _finished(o) else None)
    duration_seconds = factory.LazyAttribute(lambda o: Decimal(o._duration_ms) / 1000 if _finished(o) else None)
    success = factory.LazyAttribute(lambda o: (o.status == AgentTaskStatus.COMPLETED) if _finished(o) else None)
    result_preview = factory.LazyAttribute(_preview)
    error_message = factory.LazyAttribute(lambda o: randgen.choice(TASK_ERRORS) if o.success is False else "")
    confidence_score = factory.LazyAttribute(
        lambda o: Decimal(randgen.randint(5500, 9900)) / 10000 if o.status == AgentTaskStatus.COMPLETED else None
    )
    llm_calls_count = factory.LazyAttribute(lambda o: randgen.randint(1, 12) if o.status != AgentTaskStatus.PENDING else 0)
    thinking_phases_count = factory.LazyAttribute(lambda o: randgen.randint(0, o.llm_calls_count))
    token_usage = factory.LazyAttribute(_token_usage)
    memory_usage_mb = factory.LazyAttribute(lambda o: Decimal(randgen.randint(12000, 95000)) / 100 if _finished(o) else None)

    @classmethod
    def _generate(cls, strategy, params):
        # A task of a given flow lives in that flow's engagement.
        flow = params.get("flow")
        if flow is not None and "engagement" not in params:
            params = {**params, "engagement": flow.engagement}
        return super()._generate(strategy, params)


class AgentPerformanceDailyFactory(ModernizeFactory):
    """A self-consistent day of one agent; real roll-ups come from agent_performance_daily_rollup."""

    class Meta:
        model = AgentPerformanceDaily

    engagement = factory.SubFactory(EngagementFactory)
    client_account = factory.SelfAttribute("engagement.client_account")
    # Agent and day walk the sequence, so rows of one engagement never collide on the unique
    # key (7 agents × 3 years of days) and stay in the recent past.
    agent_name = factory.Sequence(lambda n: AGENT_NAMES[n % len(AGENT_NAMES)])
    date_recorded = factory.Sequence(lambda n: timezone.now().date() - dt.timedelta(days=1 + (n // len(AGENT_NAMES)) % 1095))
    tasks_attempted = factory.LazyFunction(lambda: randgen.randint(4, 80))
    tasks_completed = factory.LazyAttribute(lambda o: round(o.tasks_attempted * randgen.uniform(0.7, 0.97)))
    tasks_failed = factory.LazyAttribute(lambda o: randgen.randint(0, o.tasks_attempted - o.tasks_completed))
    success_rate = factory.LazyAttribute(lambda o: (Decimal(100 * o.tasks_completed) / o.tasks_attempted).quantize(Decimal("0.01")))
    avg_duration_seconds = factory.LazyFunction(lambda: Decimal(randgen.randint(8_000, 300_000)) / 1000)
    avg_confidence_score = factory.LazyFunction(lambda: Decimal(randgen.randint(6500, 9400)) / 10000)
    total_llm_calls = factory.LazyAttribute(lambda o: o.tasks_attempted * randgen.randint(2, 8))
    total_tokens_used = factory.LazyAttribute(lambda o: o.total_llm_calls * randgen.randint(1200, 6500))
