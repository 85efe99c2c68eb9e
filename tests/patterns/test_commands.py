"""backfill_pattern_embeddings and pattern_index, run as real subprocesses on committed rows.

These tests are not in a test transaction: the subprocess must see the rows, and CREATE
INDEX CONCURRENTLY cannot run in a transaction. Rows are written through the owner
(platform_context), committed, and removed at the end with their client account.
"""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connections

from patterns.embedders.local import LocalHashingEmbedder
from patterns.models import EMBEDDING_INDEX_NAME, AgentDiscoveredPattern
from patterns.services import pattern_text
from seeding.factories.patterns import AgentDiscoveredPatternFactory
from seeding.factories.tenancy import ClientAccountFactory, EngagementFactory
from tenancy.context import platform_context
from tests.patterns.conftest import database_env, manage

pytestmark = pytest.mark.slow

LEGACY_ROWS = 1200
OTHER_MODEL = "openai/text-embedding-3-small"
# Every column but the two the backfill may write.
UNCHANGED = [f.attname for f in AgentDiscoveredPattern._meta.concrete_fields if f.name not in ("embedding", "embedding_model")]


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """A committed client account with legacy rows, embedded rows and another model's rows."""
    with django_db_blocker.unblock():
        with platform_context(reason="tests: committed rows for the backfill"):
            account = ClientAccountFactory(name="Backfill Client", slug="backfill-client")
            engagement = EngagementFactory(client_account=account)
            legacy = AgentDiscoveredPatternFactory.build_batch(LEGACY_ROWS, engagement=engagement, embedding=None)
            AgentDiscoveredPattern.objects.bulk_create(legacy, batch_size=500)
            embedded = AgentDiscoveredPatternFactory.create_batch(3, engagement=engagement)
            foreign = AgentDiscoveredPatternFactory.create_batch(
                2, engagement=engagement, embedding=[0.5] * 1536, embedding_model=OTHER_MODEL
            )
        yield {"account": account, "legacy": legacy, "embedded": embedded, "foreign": foreign}
        with platform_context(reason="tests: remove the committed backfill rows"):
            account.delete()
        # Statistics of an empty table again, so later tests see no table size (cap only).
        with connections["owner"].cursor() as cursor:
            cursor.execute("ANALYZE agent_discovered_patterns")


def _snapshot(account_id):
    with platform_context(reason="tests: read back the backfilled rows"):
        rows = AgentDiscoveredPattern.objects.filter(client_account_id=account_id).values(*UNCHANGED, "embedding", "embedding_model")
        return {str(row["id"]): row for row in rows}


def _embedded_count(account_id) -> int:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM agent_discovered_patterns WHERE client_account_id = %s AND embedding IS NOT NULL", [str(account_id)])
        return cursor.fetchone()[0]


def _test_db() -> str:
    return connections["owner"].settings_dict["NAME"]


def test_backfill_killed_mid_run_resumes_and_embeds_every_row_once(committed, django_db_blocker):
    account = committed["account"]
    with django_db_blocker.unblock():
        before = _snapshot(account.id)
        already = 3 + 2
        root = Path(__file__).resolve().parents[2]
        process = subprocess.Popen(
            [sys.executable, str(root / "manage.py"), "backfill_pattern_embeddings", "--batch-size", "2", "--client-account", str(account.id)],
            env=database_env(_test_db()),
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while _embedded_count(account.id) < already + 20 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
        partial = _embedded_count(account.id)
        assert already + 20 <= partial < already + LEGACY_ROWS, "the run was not interrupted mid-way"

        resumed = manage("backfill_pattern_embeddings", "--batch-size", "50", database_name=_test_db())
        assert f"Embedded {already + LEGACY_ROWS - partial} rows of 1 client accounts" in resumed.stdout
        after = _snapshot(account.id)

    embedder = LocalHashingEmbedder()
    assert set(after) == set(before)
    for pk, row in after.items():
        assert {c: row[c] for c in UNCHANGED} == {c: before[pk][c] for c in UNCHANGED}, "a column other than the embedding changed"
        if before[pk]["embedding"] is not None:
            assert row["embedding_model"] == before[pk]["embedding_model"]
            assert list(row["embedding"]) == list(before[pk]["embedding"])
            continue
        assert row["embedding_model"] == embedder.model_name
        expected = embedder.embed_text(pattern_text(pattern_name=row["pattern_name"], pattern_description=row["pattern_description"]))
        assert [float(x) for x in row["embedding"]] == pytest.approx(expected, abs=1e-6)


def test_reembed_redoes_other_models_and_dry_run_writes_nothing(committed, django_db_blocker):
    account = committed["account"]
    with django_db_blocker.unblock():
        manage("backfill_pattern_embeddings", "--client-account", str(account.id), database_name=_test_db())
        dry = manage("backfill_pattern_embeddings", "--reembed", "--dry-run", database_name=_test_db())
        assert "Dry run: 2 rows of 1 client accounts" in dry.stdout
        assert {r["embedding_model"] for r in _snapshot(account.id).values()} == {LocalHashingEmbedder.model_name, OTHER_MODEL}

        manage("backfill_pattern_embeddings", "--reembed", database_name=_test_db())
        rows = _snapshot(account.id)
    assert {r["embedding_model"] for r in rows.values()} == {LocalHashingEmbedder.model_name}
    foreign = rows[str(committed["foreign"][0].pk)]
    assert list(foreign["embedding"]) != [0.5] * 1536


def test_backfill_refuses_bad_options(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        result = manage("backfill_pattern_embeddings", "--client-account", "nope", database_name=_test_db(), check=False)
    assert result.returncode != 0 and "is not a UUID" in result.stderr


def _index_definition() -> tuple[str, str, bool]:
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT am.amname, pg_get_indexdef(i.indexrelid), i.indisvalid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam WHERE c.relname = %s",
            [EMBEDDING_INDEX_NAME],
        )
        return cursor.fetchone()


def test_pattern_index_rebuilds_concurrently_and_reports_status(committed, django_db_blocker):
    with django_db_blocker.unblock():
        manage("backfill_pattern_embeddings", database_name=_test_db())
        try:
            rebuilt = manage("pattern_index", "rebuild", "--method", "ivfflat", database_name=_test_db())
            method, definition, valid = _index_definition()
            assert (method, valid) == ("ivfflat", True)
            # Default lists: embedded rows / 1000.
            assert "lists='1'" in definition
            assert "Rebuilt the vector index as ivfflat" in rebuilt.stdout

            manage("pattern_index", "rebuild", "--method", "hnsw", "--m", "8", "--ef-construction", "32", database_name=_test_db())
            method, definition, valid = _index_definition()
            assert (method, valid) == ("hnsw", True) and "m='8'" in definition and "ef_construction='32'" in definition

            status = manage("pattern_index", "status", database_name=_test_db()).stdout
            assert f"{EMBEDDING_INDEX_NAME}: hnsw" in status and "valid" in status
            assert f"embedded: {LEGACY_ROWS + 5}" in status

            refused = manage("pattern_index", "rebuild", "--m", "16", "--ef-construction", "8", database_name=_test_db(), check=False)
            assert refused.returncode != 0 and "ef_construction" in refused.stderr
        finally:
            # Leave the index as migration 0004 made it for the tests that follow.
            manage("pattern_index", "rebuild", "--method", "hnsw", database_name=_test_db())
    assert "m='16'" in _index_definition()[1]


def test_the_strategy_follows_the_analysed_table_size(committed, django_db_blocker, settings):
    from patterns.selectors import STRATEGY_EXACT, STRATEGY_INDEX, patterns_similar_to_vector
    from tenancy.context import tenant_context

    account = committed["account"]
    with django_db_blocker.unblock():
        manage("backfill_pattern_embeddings", database_name=_test_db())
        with connections["owner"].cursor() as cursor:
            cursor.execute("ANALYZE agent_discovered_patterns")
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'agent_discovered_patterns'")
            table_rows = cursor.fetchone()[0]
        query = LocalHashingEmbedder().embed_text("Unsupported Oracle Database 12c")
        # Bound (m + sqrt(m² + 4 R N)) / 2 with m = 0: sqrt(R N).
        settings.EXACT_SEARCH_MIN_ROWS = 0
        settings.EXACT_SEARCH_COST_RATIO = 50  # sqrt(50 * ~1205 rows) ~ 245 < the tenant's 1203 candidates
        with tenant_context(account.id):
            by_index = patterns_similar_to_vector(vector=query, k=10)
        settings.EXACT_SEARCH_COST_RATIO = 5000  # sqrt(5000 * ~1205) ~ 2455 > 1205
        with tenant_context(account.id):
            exact = patterns_similar_to_vector(vector=query, k=10)
    assert table_rows >= LEGACY_ROWS
    assert (by_index.strategy, exact.strategy) == (STRATEGY_INDEX, STRATEGY_EXACT)
    assert len(by_index) == len(exact) == 10
    # Counting stopped just past the bound; the exact search counted every row.
    assert by_index.candidates == math.floor(math.sqrt(4 * 50 * table_rows) / 2) + 1
    assert exact.candidates == LEGACY_ROWS + 3  # the two rows of another embedding model are no candidates
