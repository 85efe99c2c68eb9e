"""The enhancement: embedding, embedding_model and insight_type.

Existing rows get their insight_type from pattern_type through the mapping documented in
docs/vector-search.md (a frozen copy here: later edits of the live mapping must not change
what this migration did). The vector indexes follow in 0004, built concurrently.
"""

import pgvector.django
from django.db import migrations, models

# Frozen copy of patterns.models.INSIGHT_TYPE_FOR_PATTERN_TYPE as of this migration.
INSIGHT_TYPE_FOR_PATTERN_TYPE = {
    "FIELD_MAPPING_SUGGESTION": "field_mapping_suggestion",
    "RISK_FACTOR": "risk_pattern",
    "SECURITY_VULNERABILITY": "risk_pattern",
    "COMPLIANCE_REQUIREMENT": "risk_pattern",
    "MODERNIZATION_OPPORTUNITY": "optimization_opportunity",
    "BUSINESS_VALUE_INDICATOR": "optimization_opportunity",
    "PERFORMANCE_BOTTLENECK": "optimization_opportunity",
    "COST_OPTIMIZATION": "optimization_opportunity",
    "DATA_QUALITY_ISSUE": "anomaly_detection",
    "USAGE_ANOMALY": "anomaly_detection",
    "TECHNOLOGY_CORRELATION": "workflow_improvement",
    "DEPENDENCY_PATTERN": "workflow_improvement",
    "WORKFLOW_EFFICIENCY": "workflow_improvement",
}
INSIGHT_TYPES = [
    "field_mapping_suggestion",
    "risk_pattern",
    "optimization_opportunity",
    "anomaly_detection",
    "workflow_improvement",
]


class KeepVectorExtension(pgvector.django.VectorExtension):
    """CREATE EXTENSION IF NOT EXISTS vector; the reverse leaves it installed.

    The extension is database-wide (installed by the superuser on provisioning, and the
    schema owner may not drop it), so un-migrating one app must not remove it.
    """

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass


def fill_insight_type(apps, schema_editor):
    pattern_model = apps.get_model("patterns", "AgentDiscoveredPattern")
    # The migration runs as the schema owner: its own connection, never the router's.
    patterns = pattern_model.objects.using(schema_editor.connection.alias)
    for pattern_type, insight_type in INSIGHT_TYPE_FOR_PATTERN_TYPE.items():
        patterns.filter(pattern_type=pattern_type, insight_type__isnull=True).update(insight_type=insight_type)


class Migration(migrations.Migration):
    dependencies = [
        ("patterns", "0002_row_level_security"),
    ]

    operations = [
        KeepVectorExtension(),
        migrations.AddField(
            model_name="agentdiscoveredpattern",
            name="embedding",
            field=pgvector.django.VectorField(blank=True, dimensions=1536, null=True),
        ),
        # A 6 KB vector is TOASTed by default (storage EXTERNAL): every distance computed
        # from the heap then costs TOAST index lookups. PLAIN keeps it in the row (it fits
        # a page; the other long columns are still TOASTed), measured ~3.5x faster for the
        # exact search (docs/vector-search.md).
        migrations.RunSQL(
            "ALTER TABLE agent_discovered_patterns ALTER COLUMN embedding SET STORAGE PLAIN",
            reverse_sql="ALTER TABLE agent_discovered_patterns ALTER COLUMN embedding SET STORAGE EXTERNAL",
        ),
        migrations.AddField(
            model_name="agentdiscoveredpattern",
            name="embedding_model",
            field=models.CharField(blank=True, default="", help_text="The embedder that produced the vector.", max_length=100),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="agentdiscoveredpattern",
            name="insight_type",
            field=models.CharField(
                choices=[
                    ("field_mapping_suggestion", "Field mapping suggestion"),
                    ("risk_pattern", "Risk pattern"),
                    ("optimization_opportunity", "Optimization opportunity"),
                    ("anomaly_detection", "Anomaly detection"),
                    ("workflow_improvement", "Workflow improvement"),
                ],
                max_length=40,
                null=True,
            ),
        ),
        migrations.RunPython(fill_insight_type, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="agentdiscoveredpattern",
            name="insight_type",
            field=models.CharField(
                choices=[
                    ("field_mapping_suggestion", "Field mapping suggestion"),
                    ("risk_pattern", "Risk pattern"),
                    ("optimization_opportunity", "Optimization opportunity"),
                    ("anomaly_detection", "Anomaly detection"),
                    ("workflow_improvement", "Workflow improvement"),
                ],
                max_length=40,
            ),
        ),
        migrations.AddConstraint(
            model_name="agentdiscoveredpattern",
            constraint=models.CheckConstraint(
                condition=models.Q(("insight_type__in", INSIGHT_TYPES)), name="agent_discovered_patterns_insight_type_valid"
            ),
        ),
        migrations.AddConstraint(
            model_name="agentdiscoveredpattern",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("embedding__isnull", True), ("embedding_model", "")),
                    models.Q(("embedding__isnull", False), models.Q(("embedding_model", ""), _negated=True)),
                    _connector="OR",
                ),
                name="agent_discovered_patterns_embedding_model_named",
            ),
        ),
    ]
