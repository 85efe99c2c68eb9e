"""SIGKILL of long-running commands mid-run, then a rerun: consistent data, nothing duplicated.

backfill_pattern_embeddings is killed three times at growing progress over three tenants
(its own test in tests/patterns kills it once, in one tenant); the last run finishes the job.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connections

from patterns.embedders.local import LocalHashingEmbedder
from patterns.models import AgentDiscoveredPattern
from patterns.services import pattern_text
from seeding.factories.patterns import AgentDiscoveredPatternFactory
from seeding.factories.tenancy import ClientAccountFactory, EngagementFactory
from tenancy.context import platform_context
from tests.patterns.conftest import database_env, manage
from tests.reliability.profile import figures_record

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TENANTS = 3
ROWS_PER_TENANT = 250
KILLS = 3


@pytest.fixture
def legacy_rows(django_db_setup, django_db_blocker):
    """Committed tenants whose patterns have no embedding yet."""
    label = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock():
        with platform_context(reason="tests: legacy rows for the kill-and-rerun test"):
            accounts = []
            for t in range(TENANTS):
                account = ClientAccountFactory(name=f"Kill {label} {t}", slug=f"kill-{label}-{t}")
                engagement = EngagementFactory(client_account=account)
                rows = AgentDiscoveredPatternFactory.build_batch(ROWS_PER_TENANT, engagement=engagement, embedding=None)
                AgentDiscoveredPattern.objects.bulk_create(rows, batch_size=500)
                accounts.append(account)
        yield [str(a.id) for a in accounts]
        with platform_context(reason="tests: remove the kill-and-rerun rows"):
            for account in accounts:
                account.delete()


def _state(account_ids) -> dict:
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT id::text, client_account_id::text, engagement_id::text, pattern_id, pattern_name, pattern_description, "
            "updated_at, embedding IS NOT NULL, embedding_model FROM agent_discovered_patterns WHERE client_account_id = ANY(%s::uuid[])",
            [account_ids],
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _embedded(account_ids) -> int:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM agent_discovered_patterns WHERE client_account_id = ANY(%s::uuid[]) AND embedding IS NOT NULL", [account_ids])
        return cursor.fetchone()[0]


def test_backfill_killed_three_times_then_rerun_embeds_every_row_once(legacy_rows, django_db_blocker):
    database = connections["owner"].settings_dict["NAME"]
    total = TENANTS * ROWS_PER_TENANT
    kills = []
    with django_db_blocker.unblock():
        before = _state(legacy_rows)
        for attempt in range(KILLS):
            start = _embedded(legacy_rows)
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "backfill_pattern_embeddings", "--batch-size", "7"],
                env=database_env(database), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 120
            # Each kill lands a little further: after 40, 80, 120 more rows.
            while _embedded(legacy_rows) < start + 40 * (attempt + 1) and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait() == -signal.SIGKILL, "the run finished before it could be killed"
            kills.append(_embedded(legacy_rows))
        assert kills == sorted(kills) and kills[-1] < total, kills
        finished = manage("backfill_pattern_embeddings", "--batch-size", "50", database_name=database)
        after = _state(legacy_rows)
        with connections["owner"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT client_account_id, engagement_id, pattern_id FROM agent_discovered_patterns "
                "WHERE client_account_id = ANY(%s::uuid[]) GROUP BY 1, 2, 3 HAVING count(*) > 1) d",
                [legacy_rows],
            )
            duplicated = cursor.fetchone()[0]
            cursor.execute(
                "SELECT id::text, pattern_name, pattern_description, embedding::text FROM agent_discovered_patterns "
                "WHERE client_account_id = ANY(%s::uuid[]) ORDER BY random() LIMIT 25",
                [legacy_rows],
            )
            sample = cursor.fetchall()

    figures_record("kill_backfill", {"rows": total, "embedded_after_each_kill": kills, "rerun": finished.stdout.strip().splitlines()[-1], "duplicated": duplicated})
    assert f"Embedded {total - kills[-1]} rows of " in finished.stdout
    assert set(after) == set(before), "rows appeared or vanished"
    assert duplicated == 0
    model = LocalHashingEmbedder.model_name
    for pk, row in after.items():
        assert row[:5] == before[pk][:5], "a column other than the embedding changed"
        assert row[6:] == (True, model)
    embedder = LocalHashingEmbedder()
    for pk, name, description, vector in sample:
        expected = embedder.embed_text(pattern_text(pattern_name=name, pattern_description=description))
        assert [float(x) for x in vector.strip("[]").split(",")] == pytest.approx(expected, abs=1e-6)
