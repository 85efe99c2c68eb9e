"""The vector index and the search-candidate index, built without blocking writes.

CREATE INDEX CONCURRENTLY cannot run in a transaction, hence atomic = False. HNSW works on
an empty table and grows with it (IVFFlat would need data first; see pattern_index).
If a concurrent build fails it leaves an INVALID index: `manage.py pattern_index status`
shows it, and re-running the migration after dropping it (or `pattern_index rebuild`) fixes it.
"""

import pgvector.django
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("patterns", "0003_pattern_embeddings"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="agentdiscoveredpattern",
            index=pgvector.django.HnswIndex(
                ef_construction=64, fields=["embedding"], m=16, name="adp_embedding_ann_idx", opclasses=["vector_cosine_ops"]
            ),
        ),
        AddIndexConcurrently(
            model_name="agentdiscoveredpattern",
            index=models.Index(
                condition=models.Q(("embedding__isnull", False)),
                fields=["client_account", "embedding_model", "insight_type", "engagement"],
                name="adp_searchable_idx",
            ),
        ),
    ]
