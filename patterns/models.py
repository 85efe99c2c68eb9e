"""Patterns that agents discover during engagements, with their embeddings."""

from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField

from tenancy.models import TenantModel


class PatternType(models.TextChoices):
    """What an agent found; fixed by the discovering agent."""

    TECHNOLOGY_CORRELATION = "TECHNOLOGY_CORRELATION", "Technology correlation"
    BUSINESS_VALUE_INDICATOR = "BUSINESS_VALUE_INDICATOR", "Business value indicator"
    RISK_FACTOR = "RISK_FACTOR", "Risk factor"
    MODERNIZATION_OPPORTUNITY = "MODERNIZATION_OPPORTUNITY", "Modernization opportunity"
    DEPENDENCY_PATTERN = "DEPENDENCY_PATTERN", "Dependency pattern"
    SECURITY_VULNERABILITY = "SECURITY_VULNERABILITY", "Security vulnerability"
    PERFORMANCE_BOTTLENECK = "PERFORMANCE_BOTTLENECK", "Performance bottleneck"
    COMPLIANCE_REQUIREMENT = "COMPLIANCE_REQUIREMENT", "Compliance requirement"
    FIELD_MAPPING_SUGGESTION = "FIELD_MAPPING_SUGGESTION", "Field mapping suggestion"
    DATA_QUALITY_ISSUE = "DATA_QUALITY_ISSUE", "Data quality issue"
    COST_OPTIMIZATION = "COST_OPTIMIZATION", "Cost optimization"
    USAGE_ANOMALY = "USAGE_ANOMALY", "Usage anomaly"
    WORKFLOW_EFFICIENCY = "WORKFLOW_EFFICIENCY", "Workflow efficiency"


class InsightType(models.TextChoices):
    """How an agent may use a pattern; the axis similarity search filters on."""

    FIELD_MAPPING_SUGGESTION = "field_mapping_suggestion", "Field mapping suggestion"
    RISK_PATTERN = "risk_pattern", "Risk pattern"
    OPTIMIZATION_OPPORTUNITY = "optimization_opportunity", "Optimization opportunity"
    ANOMALY_DETECTION = "anomaly_detection", "Anomaly detection"
    WORKFLOW_IMPROVEMENT = "workflow_improvement", "Workflow improvement"


EMBEDDING_DIMENSIONS = 1536

# The name of the approximate-nearest-neighbour index; `manage.py pattern_index rebuild`
# swaps its method and parameters but keeps the name, so the model state stays true.
EMBEDDING_INDEX_NAME = "adp_embedding_ann_idx"

# The documented pattern_type -> insight_type mapping (docs/vector-search.md). Migration
# patterns/0003 carries a frozen copy of it for the rows that existed before insight_type.
INSIGHT_TYPE_FOR_PATTERN_TYPE: dict[str, str] = {
    PatternType.FIELD_MAPPING_SUGGESTION: InsightType.FIELD_MAPPING_SUGGESTION,
    PatternType.RISK_FACTOR: InsightType.RISK_PATTERN,
    PatternType.SECURITY_VULNERABILITY: InsightType.RISK_PATTERN,
    PatternType.COMPLIANCE_REQUIREMENT: InsightType.RISK_PATTERN,
    PatternType.MODERNIZATION_OPPORTUNITY: InsightType.OPTIMIZATION_OPPORTUNITY,
    PatternType.BUSINESS_VALUE_INDICATOR: InsightType.OPTIMIZATION_OPPORTUNITY,
    PatternType.PERFORMANCE_BOTTLENECK: InsightType.OPTIMIZATION_OPPORTUNITY,
    PatternType.COST_OPTIMIZATION: InsightType.OPTIMIZATION_OPPORTUNITY,
    PatternType.DATA_QUALITY_ISSUE: InsightType.ANOMALY_DETECTION,
    PatternType.USAGE_ANOMALY: InsightType.ANOMALY_DETECTION,
    PatternType.TECHNOLOGY_CORRELATION: InsightType.WORKFLOW_IMPROVEMENT,
    PatternType.DEPENDENCY_PATTERN: InsightType.WORKFLOW_IMPROVEMENT,
    PatternType.WORKFLOW_EFFICIENCY: InsightType.WORKFLOW_IMPROVEMENT,
}


class AgentDiscoveredPattern(TenantModel):
    """A pattern an agent learned in one engagement; agents of the client reuse it."""

    pattern_id = models.CharField(max_length=255, help_text="The agent's own identifier, unique within the engagement.")
    pattern_type = models.CharField(max_length=40, choices=PatternType.choices)
    insight_type = models.CharField(max_length=40, choices=InsightType.choices)
    pattern_name = models.CharField(max_length=255)
    pattern_description = models.TextField(blank=True)
    discovered_by_agent = models.CharField(max_length=255)
    task_id = models.CharField(max_length=255, blank=True, help_text="The agent task that discovered it.")
    confidence_score = models.FloatField(default=0.5)
    evidence_count = models.IntegerField(default=1)
    times_referenced = models.IntegerField(default=0)
    pattern_effectiveness_score = models.FloatField(null=True, blank=True, help_text="From user feedback; empty until rated.")
    pattern_data = models.JSONField(default=dict, blank=True, help_text="Evidence and user feedback (bounded histories).")
    execution_context = models.JSONField(default=dict, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True, help_text="The embedder that produced the vector.")

    class Meta:
        db_table = "agent_discovered_patterns"
        ordering = ["-created_at"]
        constraints = TenantModel.Meta.constraints + [
            models.UniqueConstraint(fields=["client_account", "engagement", "pattern_id"], name="agent_discovered_patterns_pattern_id_key"),
            models.CheckConstraint(condition=Q(pattern_type__in=PatternType.values), name="agent_discovered_patterns_pattern_type_valid"),
            models.CheckConstraint(condition=Q(insight_type__in=InsightType.values), name="agent_discovered_patterns_insight_type_valid"),
            # Backfill and re-embedding select on embedding_model, so it must say the truth.
            models.CheckConstraint(
                condition=(Q(embedding__isnull=True) & Q(embedding_model=""))
                | (Q(embedding__isnull=False) & ~Q(embedding_model="")),
                name="agent_discovered_patterns_embedding_model_named",
            ),
            models.CheckConstraint(
                condition=Q(confidence_score__gte=0) & Q(confidence_score__lte=1), name="agent_discovered_patterns_confidence_range"
            ),
            models.CheckConstraint(
                condition=Q(pattern_effectiveness_score__isnull=True)
                | (Q(pattern_effectiveness_score__gte=0) & Q(pattern_effectiveness_score__lte=1)),
                name="agent_discovered_patterns_effectiveness_range",
            ),
            models.CheckConstraint(condition=Q(evidence_count__gte=0), name="agent_discovered_patterns_evidence_nonnegative"),
            models.CheckConstraint(condition=Q(times_referenced__gte=0), name="agent_discovered_patterns_references_nonnegative"),
        ]
        indexes = [
            models.Index(fields=["client_account", "-created_at"], name="adp_client_created_idx"),
            models.Index(fields=["client_account", "pattern_type"], name="adp_client_type_idx"),
            HnswIndex(fields=["embedding"], m=16, ef_construction=64, opclasses=["vector_cosine_ops"], name=EMBEDDING_INDEX_NAME),
            # The candidate set of a filtered search: counted to choose exact or index search,
            # and scanned (bitmap) by the exact search.
            models.Index(
                fields=["client_account", "embedding_model", "insight_type", "engagement"],
                condition=Q(embedding__isnull=False),
                name="adp_searchable_idx",
            ),
        ]

    def __str__(self):
        return self.pattern_name
