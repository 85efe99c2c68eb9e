import datetime as dt

import factory
from factory.random import randgen

from modernize.flows.models import FlowStatus, FlowType, MasterFlow
from seeding.factories.base import ModernizeFactory
from seeding.factories.tenancy import EngagementFactory

# The phases each kind of flow walks through, in order.
FLOW_PHASES = {
    FlowType.DISCOVERY: ["data_import", "field_mapping", "data_cleansing", "asset_inventory", "dependency_analysis", "tech_debt_analysis"],
    FlowType.ASSESSMENT: ["readiness_assessment", "complexity_analysis", "risk_assessment", "six_r_recommendation"],
    FlowType.COLLECTION: ["platform_detection", "automated_collection", "gap_analysis", "manual_collection", "data_validation"],
    FlowType.PLANNING: ["wave_planning", "dependency_sequencing", "runbook_generation", "resource_allocation"],
    FlowType.EXECUTION: ["pre_migration_checks", "replication", "cutover", "post_migration_validation"],
    FlowType.MODERNIZE: ["code_analysis", "refactoring_plan", "containerization", "deployment_pipeline"],
    FlowType.FINOPS: ["cost_baseline", "rightsizing", "commitment_planning", "savings_tracking"],
    FlowType.OBSERVABILITY: ["telemetry_onboarding", "slo_definition", "alert_tuning"],
    FlowType.DECOMMISSION: ["decommission_planning", "data_archival", "system_shutdown", "license_release"],
}

FLOW_CREWS = {
    FlowType.DISCOVERY: ["Data Cleansing Agent", "Field Mapping Agent", "Asset Inventory Agent", "Dependency Analysis Agent"],
    FlowType.ASSESSMENT: ["Risk Assessment Agent", "Six R Strategy Agent", "Dependency Analysis Agent"],
    FlowType.COLLECTION: ["Platform Detection Agent", "Asset Inventory Agent", "Data Cleansing Agent"],
    FlowType.PLANNING: ["Migration Wave Planner", "Dependency Analysis Agent", "Risk Assessment Agent"],
    FlowType.EXECUTION: ["Migration Execution Agent", "Validation Agent"],
    FlowType.MODERNIZE: ["Code Analysis Agent", "Six R Strategy Agent", "Containerization Agent"],
    FlowType.FINOPS: ["Cost Optimization Agent", "Rightsizing Agent"],
    FlowType.OBSERVABILITY: ["Observability Agent", "Risk Assessment Agent"],
    FlowType.DECOMMISSION: ["Decommission Agent", "Data Archival Agent", "Risk Assessment Agent"],
}

FLOW_STATUS_WEIGHTS = [
    (FlowStatus.COMPLETED, 40),
    (FlowStatus.ACTIVE, 18),
    (FlowStatus.PROCESSING, 12),
    (FlowStatus.WAITING_FOR_APPROVAL, 8),
    (FlowStatus.PAUSED, 6),
    (FlowStatus.INITIALIZED, 6),
    (FlowStatus.FAILED, 7),
    (FlowStatus.CANCELLED, 3),
]

FLOW_ERRORS = [
    ("RateLimitError", "LLM provider returned 429 Too Many Requests after 3 retries"),
    ("TimeoutError", "CMDB export did not finish within 600 s"),
    ("ValidationError", "Import file is missing the required column 'hostname'"),
    ("ConnectionError", "vCenter API unreachable: connection reset by peer"),
]


def _weighted(choices):
    values, weights = zip(*choices)
    return randgen.choices(values, weights=weights, k=1)[0]


def _phase_index(flow) -> int:
    phases = FLOW_PHASES[flow.flow_type]
    if flow.flow_status == FlowStatus.INITIALIZED:
        return 0
    if flow.flow_status == FlowStatus.COMPLETED:
        return len(phases) - 1
    return randgen.randrange(len(phases))


def _transitions(flow) -> list[dict]:
    phases = FLOW_PHASES[flow.flow_type][: flow._phase_index + 1]
    at = flow.created_at
    entries = []
    previous = None
    for phase in phases if flow.flow_status != FlowStatus.INITIALIZED else []:
        at = at + dt.timedelta(minutes=randgen.randint(3, 600))
        entries.append({"from": previous, "to": phase, "at": at.isoformat(), "reason": f"{previous or 'start'} finished"})
        previous = phase
    return entries


def _errors(flow) -> list[dict]:
    if flow.flow_status != FlowStatus.FAILED and randgen.random() > 0.1:
        return []
    errors = []
    for attempt in range(max(flow.retry_count, 1)):
        error_type, message = randgen.choice(FLOW_ERRORS)
        at = flow.created_at + dt.timedelta(hours=randgen.randint(1, 48))
        errors.append(
            {
                "at": at.isoformat(),
                "phase": flow.current_phase or None,
                "error_type": error_type,
                "message": message,
                "agent": randgen.choice(FLOW_CREWS[flow.flow_type]),
                "retry_count": attempt + 1 if flow.retry_count else 0,
            }
        )
    return errors


def _collaboration(flow) -> list[dict]:
    crew = FLOW_CREWS[flow.flow_type]
    log = []
    for i in range(randgen.randint(0, 4) if len(crew) > 1 else 0):
        sender, receiver = randgen.sample(crew, 2)
        log.append(
            {
                "at": (flow.created_at + dt.timedelta(minutes=30 * (i + 1))).isoformat(),
                "from_agent": sender,
                "to_agent": receiver,
                "message": f"Handing over {flow.current_phase or 'intake'} results for review",
            }
        )
    return log


class MasterFlowFactory(ModernizeFactory):
    class Meta:
        model = MasterFlow
        exclude = ["_phase_index"]

    engagement = factory.SubFactory(EngagementFactory)
    client_account = factory.SelfAttribute("engagement.client_account")
    # The engagement lead runs the engagement's flows (may be None, as in the model).
    user = factory.LazyAttribute(lambda o: o.engagement.engagement_lead)
    flow_id = factory.Faker("uuid4", cast_to=None)
    flow_type = factory.Faker("random_element", elements=list(FlowType))
    flow_status = factory.LazyFunction(lambda: _weighted(FLOW_STATUS_WEIGHTS))
    flow_name = factory.LazyAttribute(lambda o: f"{FlowType(o.flow_type).label}: {o.engagement.name}")
    created_at = factory.Faker("date_time_between", start_date="-180d", end_date="-1d", tzinfo=dt.UTC)
    _phase_index = factory.LazyAttribute(_phase_index)
    current_phase = factory.LazyAttribute(lambda o: FLOW_PHASES[o.flow_type][o._phase_index] if o.flow_status != FlowStatus.INITIALIZED else "")
    retry_count = factory.LazyAttribute(lambda o: randgen.randint(1, 3) if o.flow_status == FlowStatus.FAILED else 0)
    phase_transitions = factory.LazyAttribute(_transitions)
    error_history = factory.LazyAttribute(_errors)
    agent_collaboration_log = factory.LazyAttribute(_collaboration)
    flow_configuration = factory.LazyAttribute(
        lambda o: {
            "crew": FLOW_CREWS[o.flow_type],
            "llm": {"provider": "openai", "model": "gpt-4o", "temperature": 0.2},
            "max_retries": 3,
            "approval_required": o.flow_type in (FlowType.PLANNING, FlowType.EXECUTION, FlowType.DECOMMISSION),
        }
    )
    flow_persistence_data = factory.LazyAttribute(
        lambda o: {
            "checkpoint": o.current_phase or None,
            "records_processed": randgen.randint(50, 25000),
            "assets_discovered": randgen.randint(10, 1200),
        }
    )
    learning_patterns = factory.LazyAttribute(
        lambda o: {
            "field_mappings_learned": randgen.randint(0, 80),
            "confidence_threshold": 0.75,
            "feedback_incorporated": randgen.randint(0, 25),
        }
    )
    parent_flow = None
