"""SIGKILL of long-running commands mid-run, then a rerun: consistent data, nothing duplicated.

backfill_pattern_embeddings is killed three times at growing progress over three tenants
(its own test in tests/patterns kills it once, in one tenant); the last run finishes the job.
seed_comprehensive is killed on an empty database, rerun, and (soak) killed again over its
own data and rerun.
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
from tests.reliability.profile import SOAK, figures_record

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


# --- seed_comprehensive ------------------------------------------------------------------
# The seeder upserts its users by email (platform@modernize.example is also the shared test
# world's platform admin), so it runs against a scratch database, as tests/seeding does.

SEED_ARGS = ["seed_comprehensive", "--profile", "demo", "--tenants", "1", "--patterns", "120"]
KILL_AFTER_LINE = "llm_usage_logs"  # printed mid-run: facts generated and loading, patterns and roll-ups to come


def _seed_env(database: str) -> dict:
    from django.conf import settings

    from tenancy.management.commands.database_url import libpq_uri

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": libpq_uri({**settings.DATABASES["owner"], "NAME": database}),
        "DATABASE_RUNTIME_URL": libpq_uri({**settings.DATABASES["default"], "NAME": database}),
    }


def _seed_killed(database: str) -> str:
    """Start the seeder, SIGKILL it once it prints KILL_AFTER_LINE; return what it printed."""
    process = subprocess.Popen([sys.executable, "manage.py", *SEED_ARGS], cwd=ROOT, env=_seed_env(database), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    deadline = time.monotonic() + 120
    for line in process.stdout:
        seen.append(line)
        if KILL_AFTER_LINE in line or time.monotonic() > deadline:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    assert process.returncode == -signal.SIGKILL and any(KILL_AFTER_LINE in line for line in seen), "".join(seen)[-2000:]
    return "".join(seen)


def _scratch(database: str, sql: str, params=()) -> list:
    import psycopg

    from tests.seeding.test_seed_command import _owner_conninfo

    with psycopg.connect(_owner_conninfo(database)) as conn:
        return conn.execute(sql, params).fetchall()


def _settled(database: str) -> None:
    """Wait until the killed seeder's backend has rolled back and gone."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _scratch(database, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")[0][0] == 0:
            return
        time.sleep(0.2)
    raise AssertionError("the killed seeder's backend is still there after 60 s")


def _shape(database: str) -> dict:
    """Constraints and indexes of the public tables: the bulk mode drops and recreates some."""
    return {
        "constraints": _scratch(database, "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"),
        "indexes": _scratch(database, "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2"),
    }


def _written(output: str) -> dict[str, int]:
    """table -> rows from the seeder's report table."""
    import re

    return {m.group(1): int(m.group(2).replace(",", "")) for m in re.finditer(r"^(\w+)\s+([\d,]+)\s+[\d.]+\s+[\d,]+$", output, re.MULTILINE) if m.group(1) != "total"}


def _counts(database: str, tables) -> dict[str, int]:
    """Rows per table, without the audit rows of the seeder's own platform_context entries."""
    own_entries = "WHERE NOT (event_type = 'platform_context_entered' AND description LIKE 'seed_comprehensive:%%')"
    return {t: _scratch(database, f'SELECT count(*) FROM "{t}" ' + (own_entries if t == "security_audit_logs" else ""))[0][0] for t in tables}


def _digest_of_seeded(database: str) -> str:
    code = (
        "from seeding.constants import tenant_specs; from seeding.selectors import seeded_data_digest; "
        "print(seeded_data_digest(client_account_ids=[s.id for s in tenant_specs(1)]))"
    )
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=_seed_env(database), capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def scratch_database(django_db_blocker):
    from tests.seeding.test_seed_command import _admin, _drop

    name = f"scratch_kill_{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        _admin(f'CREATE DATABASE "{name}"')
        try:
            subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT, env=_seed_env(name), check=True, capture_output=True, timeout=300)
            yield name
        finally:
            _drop(name)


def test_seeder_killed_mid_run_leaves_nothing_and_the_rerun_seeds_everything_once(scratch_database, django_db_blocker):
    from tests.seeding.test_seed_command import _digest

    database = scratch_database
    with django_db_blocker.unblock():
        shape = _shape(database)
        _seed_killed(database)
        _settled(database)
        # One platform_context transaction: the kill rolled everything back, DDL included.
        after_kill = {t: _scratch(database, f'SELECT count(*) FROM "{t}"')[0][0] for t in ("users", "client_accounts", "agent_task_history", "llm_usage_logs")}
        shape_after_kill = _shape(database)

        full = subprocess.run([sys.executable, "manage.py", *SEED_ARGS, "--digest"], cwd=ROOT, env=_seed_env(database), capture_output=True, text=True, timeout=300)
        assert full.returncode == 0, full.stdout[-2000:] + full.stderr[-2000:]
        written = _written(full.stdout)
        stored = _counts(database, written)
        first = _digest(full.stdout)

        again = {}
        if SOAK:
            # Killed again while the seeded data is there: the old rows stay as they were;
            # then a rerun replaces them with the same rows.
            _seed_killed(database)
            _settled(database)
            again["digest_after_second_kill"] = _digest_of_seeded(database)
            again["shape_after_second_kill"] = _shape(database)
            rerun = subprocess.run([sys.executable, "manage.py", *SEED_ARGS, "--digest"], cwd=ROOT, env=_seed_env(database), capture_output=True, text=True, timeout=300)
            assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
            again["digest_after_rerun"] = _digest(rerun.stdout)
            again["stored_after_rerun"] = _counts(database, written)

    figures_record(
        "kill_seeder",
        {
            "rows_after_kill_on_empty": after_kill,
            "rows_written_by_rerun": sum(written.values()),
            "rows_stored": sum(stored.values()),
            **({"old_rows_intact_after_second_kill": again["digest_after_second_kill"] == first, "same_digest_after_second_rerun": again["digest_after_rerun"] == first} if again else {}),
        },
    )
    assert after_kill == {"users": 0, "client_accounts": 0, "agent_task_history": 0, "llm_usage_logs": 0}
    assert shape_after_kill == shape, "keys or indexes dropped by the bulk mode were not restored"
    assert len(written) > 10 and stored == written, "rows missing or duplicated"
    if again:
        assert again["shape_after_second_kill"] == shape
        assert again["digest_after_second_kill"] == first, "the killed rerun changed the seeded rows"
        assert again["stored_after_rerun"] == written and again["digest_after_rerun"] == first
