"""Discovered patterns with realistic migration findings, embedded by the local embedder."""

import factory

from patterns.models import INSIGHT_TYPE_FOR_PATTERN_TYPE, AgentDiscoveredPattern, PatternType
from seeding.factories.base import ModernizeFactory
from seeding.factories.tenancy import EngagementFactory

# (name, description) templates per pattern type; {a}/{b} are filled from TECHNOLOGIES.
FINDINGS = {
    PatternType.TECHNOLOGY_CORRELATION: [
        ("{a} hosts run {b}", "Every {a} host in the inventory also runs {b}; plan them in the same wave."),
        ("{a} paired with {b} middleware", "Applications on {a} consistently depend on {b} for messaging and session state."),
    ],
    PatternType.BUSINESS_VALUE_INDICATOR: [
        ("Revenue-critical order flow on {a}", "The order-to-cash flow runs on {a}; downtime costs are highest here."),
        ("Customer portal traffic peaks on {a}", "Seasonal peaks of the customer portal make {a} the first candidate for autoscaling."),
    ],
    PatternType.RISK_FACTOR: [
        ("Unsupported {a} version", "{a} is past end of support; vendor patches stopped and the upgrade blocks rehosting."),
        ("Single point of failure in {a}", "One {a} instance serves every plant; no replica, no tested restore."),
    ],
    PatternType.MODERNIZATION_OPPORTUNITY: [
        ("Replatform {a} to {b}", "Stateless {a} services can move to {b} with configuration changes only."),
        ("Retire duplicate {a} reporting", "Three {a} reporting stacks produce the same KPIs; consolidate on {b}."),
    ],
    PatternType.DEPENDENCY_PATTERN: [
        ("Batch chain from {a} into {b}", "Nightly {a} batch jobs feed {b}; the chain must migrate together or be bridged."),
        ("Shared {a} schema across applications", "Seven applications read and write one {a} schema; untangle before the move to {b}."),
    ],
    PatternType.SECURITY_VULNERABILITY: [
        ("Hard-coded {a} credentials", "Connection strings with {a} passwords are committed in deployment scripts."),
        ("TLS 1.0 on {a} endpoints", "Legacy {a} endpoints still negotiate TLS 1.0; {b} will refuse them."),
    ],
    PatternType.PERFORMANCE_BOTTLENECK: [
        ("{a} storage latency under month-end load", "Month-end close saturates {a} storage IOPS; size {b} volumes for the peak."),
        ("Chatty calls between {a} and {b}", "Thousands of small synchronous calls per transaction make cross-region latency fatal."),
    ],
    PatternType.COMPLIANCE_REQUIREMENT: [
        ("EU data residency for {a} data", "Customer records in {a} must stay in EU regions under GDPR; pin {b} to eu-west."),
        ("PCI DSS scope includes {a}", "Card data flows through {a}; the target {b} landing zone needs PCI segmentation."),
    ],
    PatternType.FIELD_MAPPING_SUGGESTION: [
        ("Map {a} CUST_NO to customer_id", "{a} column CUST_NO holds the customer key; map it to customer_id in {b}."),
        ("Split {a} ADDR_LINE into street and city", "{a} stores the address in one field; the {b} model has street, city and postcode."),
    ],
    PatternType.DATA_QUALITY_ISSUE: [
        ("Duplicate server records in {a} CMDB", "The {a} CMDB lists many servers twice under different host names."),
        ("Missing owners for {a} applications", "A third of the {a} applications have no business owner recorded."),
    ],
    PatternType.COST_OPTIMIZATION: [
        ("Idle {a} capacity after hours", "{a} clusters average 8% CPU overnight; schedule or right-size them on {b}."),
        ("Reserved capacity for steady {a} load", "Steady-state {a} workloads fit {b} reserved instances or savings plans."),
    ],
    PatternType.USAGE_ANOMALY: [
        ("Unexpected traffic spike on {a}", "Traffic to {a} tripled on weekends without a matching business event."),
        ("Dormant {a} accounts still active", "Service accounts on {a} unused for a year still hold admin rights."),
    ],
    PatternType.WORKFLOW_EFFICIENCY: [
        ("Manual approval slows {a} cutover", "Change approvals for {a} take four days; pre-approve standard {b} changes."),
        ("Repeated discovery of {a} dependencies", "Teams rediscover {a} dependencies per wave; reuse the dependency map in {b}."),
    ],
}
TECHNOLOGIES = [
    "Oracle Database 12c", "IBM DB2", "Microsoft SQL Server 2012", "SAP ECC", "IBM WebSphere", "Apache Tomcat",
    "VMware vSphere", "RHEL 6", "Windows Server 2008", "IBM MQ", "Informatica PowerCenter", "COBOL batch",
    "Amazon RDS for PostgreSQL", "Amazon EKS", "Azure SQL Managed Instance", "Google Kubernetes Engine",
    "Kafka", "Redis", "Snowflake", "Databricks", "NetApp filers", "Active Directory",
]
AGENTS = [
    "Asset Inventory Agent", "Dependency Analysis Agent", "Six R Strategy Agent", "Migration Wave Planner",
    "Data Cleansing Agent", "Field Mapping Agent", "Risk Assessment Agent",
]


class AgentDiscoveredPatternFactory(ModernizeFactory):
    """A finding of a migration crew agent, embedded; pass ``embedding=None`` for a legacy row."""

    class Meta:
        model = AgentDiscoveredPattern

    class Params:
        technology_a = factory.Faker("random_element", elements=TECHNOLOGIES)
        technology_b = factory.Faker("random_element", elements=TECHNOLOGIES)
        variant = factory.Faker("random_int", min=0, max=99)
        template = factory.LazyAttribute(lambda o: FINDINGS[o.pattern_type][o.variant % len(FINDINGS[o.pattern_type])])

    engagement = factory.SubFactory(EngagementFactory)
    client_account = factory.SelfAttribute("engagement.client_account")
    pattern_type = factory.Faker("random_element", elements=list(PatternType))
    insight_type = factory.LazyAttribute(lambda o: INSIGHT_TYPE_FOR_PATTERN_TYPE[o.pattern_type])
    pattern_id = factory.Sequence(lambda n: f"pattern-{n:06d}")
    pattern_name = factory.LazyAttribute(lambda o: o.template[0].format(a=o.technology_a, b=o.technology_b))
    pattern_description = factory.LazyAttribute(lambda o: o.template[1].format(a=o.technology_a, b=o.technology_b))
    discovered_by_agent = factory.Faker("random_element", elements=AGENTS)
    task_id = factory.Faker("bothify", text="task-####-????")
    confidence_score = factory.Faker("pyfloat", min_value=0.55, max_value=0.99, right_digits=3)
    evidence_count = factory.Faker("random_int", min=1, max=12)
    times_referenced = factory.Faker("random_int", min=0, max=40)
    pattern_effectiveness_score = factory.Faker("pyfloat", min_value=0.4, max_value=0.95, right_digits=3)
    pattern_data = factory.LazyAttribute(
        lambda o: {"evidence": [{"agent": o.discovered_by_agent, "task_id": o.task_id, "confidence_score": o.confidence_score}]}
    )
    execution_context = factory.LazyFunction(lambda: {"flow_type": "discovery", "crew": "discovery_crew", "llm_model": "gpt-4o-mini"})
    embedding = factory.LazyAttribute(lambda o: _local_embedding(o.pattern_name, o.pattern_description))
    embedding_model = factory.LazyAttribute(lambda o: "" if o.embedding is None else _local_model_name())


def _local_embedding(name: str, description: str) -> list[float]:
    from patterns.embedders.local import LocalHashingEmbedder
    from patterns.services import pattern_text

    return LocalHashingEmbedder().embed_text(pattern_text(pattern_name=name, pattern_description=description))


def _local_model_name() -> str:
    from patterns.embedders.local import LocalHashingEmbedder

    return LocalHashingEmbedder.model_name
