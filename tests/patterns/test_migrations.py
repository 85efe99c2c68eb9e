"""The enhancement migrations on a database that holds pre-enhancement rows.

A separate database is created by the owner, migrated up to patterns 0002 (the table as
it was before embeddings), filled with legacy rows, then migrated forward and back
through the real `manage.py migrate` (0004 is non-atomic: CREATE INDEX CONCURRENTLY).
"""

import os
import uuid

import psycopg
import pytest
from django.db import connections
from psycopg import sql

from patterns.models import INSIGHT_TYPE_FOR_PATTERN_TYPE, PatternType
from tests.patterns.conftest import manage

pytestmark = pytest.mark.slow


@pytest.fixture
def legacy_database(django_db_setup, django_db_blocker):
    name = f"test_patterns_migrations_{os.getpid()}"
    with django_db_blocker.unblock():
        with connections["owner"].cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)).as_string())
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)).as_string())
        try:
            yield name
        finally:
            with connections["owner"].cursor() as cursor:
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)).as_string())


def _connect(name):
    s = connections["owner"].settings_dict
    return psycopg.connect(
        host=s["HOST"] or s["OPTIONS"]["host"], port=s["PORT"], user=s["USER"], password=s["PASSWORD"], dbname=name, autocommit=True
    )


def _insert_legacy_rows(name) -> dict[str, str]:
    """One pre-enhancement pattern per pattern_type; returns id -> pattern_type."""
    client_id, engagement_id = str(uuid.uuid4()), str(uuid.uuid4())
    rows = {}
    with _connect(name) as db:
        db.execute(
            "INSERT INTO client_accounts (id, created_at, updated_at, name, slug, industry, company_size, subscription_tier, "
            "max_users, max_engagements, features_enabled, settings, agent_preferences, business_objectives, is_active) "
            "VALUES (%s, now(), now(), 'Legacy Corp', 'legacy-corp', 'retail', 'large', 'enterprise', 50, 20, '{}', '{}', '{}', '[]', true)",
            [client_id],
        )
        db.execute(
            "INSERT INTO engagements (id, created_at, updated_at, client_account_id, name, slug, engagement_type, status, priority, "
            "migration_scope, is_active) VALUES (%s, now(), now(), %s, 'Data Center Exit', 'dc-exit', 'migration', 'active', 'high', '{}', true)",
            [engagement_id, client_id],
        )
        for i, pattern_type in enumerate(PatternType.values):
            pk = str(uuid.uuid4())
            rows[pk] = pattern_type
            db.execute(
                "INSERT INTO agent_discovered_patterns (id, created_at, updated_at, client_account_id, engagement_id, pattern_id, "
                "pattern_type, pattern_name, pattern_description, discovered_by_agent, task_id, confidence_score, evidence_count, "
                "times_referenced, pattern_data, execution_context) VALUES "
                "(%s, now(), now(), %s, %s, %s, %s, %s, 'found before embeddings existed', 'Asset Inventory Agent', '', 0.8, 2, 5, "
                "'{\"evidence\": [{\"agent\": \"Asset Inventory Agent\"}]}', '{}')",
                [pk, client_id, engagement_id, f"legacy-{i}", pattern_type, f"Legacy {pattern_type.lower()}"],
            )
    return rows


def _columns(db) -> set[str]:
    return {r[0] for r in db.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'agent_discovered_patterns'")}


def test_enhancement_migrates_legacy_rows_forward_and_back(legacy_database):
    manage("migrate", "patterns", "0002", "--no-input", database_name=legacy_database)
    legacy = _insert_legacy_rows(legacy_database)
    with _connect(legacy_database) as db:
        assert "embedding" not in _columns(db) and "insight_type" not in _columns(db)

    manage("migrate", "--no-input", database_name=legacy_database)
    with _connect(legacy_database) as db:
        rows = db.execute(
            "SELECT id::text, pattern_type, insight_type, embedding IS NULL, embedding_model, evidence_count, times_referenced, pattern_data "
            "FROM agent_discovered_patterns"
        ).fetchall()
        assert {r[0]: r[1] for r in rows} == legacy
        for pk, pattern_type, insight_type, no_embedding, model, evidence_count, times_referenced, data in rows:
            assert insight_type == INSIGHT_TYPE_FOR_PATTERN_TYPE[pattern_type]
            assert no_embedding and model == ""
            assert (evidence_count, times_referenced, data) == (2, 5, {"evidence": [{"agent": "Asset Inventory Agent"}]})
        assert {r[2] for r in rows} == {"field_mapping_suggestion", "risk_pattern", "optimization_opportunity", "anomaly_detection", "workflow_improvement"}

        index = db.execute(
            "SELECT am.amname, i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am am ON am.oid = c.relam WHERE c.relname = 'adp_embedding_ann_idx'"
        ).fetchone()
        assert index[:2] == ("hnsw", True) and "vector_cosine_ops" in index[2]
        storage = db.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = 'agent_discovered_patterns'::regclass AND attname = 'embedding'"
        ).fetchone()
        assert storage == ("p",)
        with pytest.raises(psycopg.errors.CheckViolation):
            db.execute("UPDATE agent_discovered_patterns SET insight_type = 'hunch'")
        with pytest.raises(psycopg.errors.NotNullViolation):
            db.execute("UPDATE agent_discovered_patterns SET insight_type = NULL")

    backfilled = manage("backfill_pattern_embeddings", database_name=legacy_database)
    assert f"Embedded {len(legacy)} rows of 1 client accounts" in backfilled.stdout

    manage("migrate", "patterns", "0002", "--no-input", database_name=legacy_database)
    with _connect(legacy_database) as db:
        assert {"embedding", "embedding_model", "insight_type"}.isdisjoint(_columns(db))
        assert {r[0]: r[1] for r in db.execute("SELECT id::text, pattern_type FROM agent_discovered_patterns")} == legacy
        assert db.execute("SELECT count(*) FROM pg_extension WHERE extname = 'vector'").fetchone() == (1,)
