"""`manage.py seed_comprehensive` on fresh databases: same seed, same data; --if-empty; the DEBUG guard.

Runs the command in subprocesses against scratch databases created by the owner (as
tests/test_migrations.py does), so the seeded rows are committed without touching the
shared test database. The second database is a template copy of the freshly migrated
first one, so both start identical.
"""

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tenancy.management.commands.database_url import libpq_uri

ROOT = Path(__file__).resolve().parents[2]
MINI = ["--profile", "demo", "--tenants", "2", "--patterns", "300", "--digest"]

pytestmark = pytest.mark.slow


def _owner_conninfo(dbname: str) -> str:
    db = settings.DATABASES["owner"]
    return f"host={db['HOST']} port={db['PORT']} dbname={dbname} user={db['USER']} password={db['PASSWORD']}"


def _admin(sql: str) -> None:
    with psycopg.connect(_owner_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def fresh_databases(django_db_blocker):
    first, second = (f"scratch_seed_{uuid.uuid4().hex[:8]}" for _ in range(2))
    with django_db_blocker.unblock():
        _admin(f'CREATE DATABASE "{first}"')
        try:
            _manage(first, "migrate", "--no-input")
            _admin(f'CREATE DATABASE "{second}" TEMPLATE "{first}"')
            yield first, second
        finally:
            for name in (first, second):
                _drop(name)


def _drop(name: str) -> None:
    # Without FORCE: PostgreSQL then stops an autovacuum worker busy with the fresh rows
    # itself (FORCE would need the right to signal it, which the owner role lacks).
    for attempt in range(10):
        try:
            _admin(f'DROP DATABASE IF EXISTS "{name}"')
            return
        except psycopg.errors.ObjectInUse:
            time.sleep(1)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(database: str, *args: str, debug: bool = True, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DEBUG": "1" if debug else "0",
        "DATABASE_URL": libpq_uri({**settings.DATABASES["owner"], "NAME": database}),
        "DATABASE_RUNTIME_URL": libpq_uri({**settings.DATABASES["default"], "NAME": database}),
    }
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def _digest(output: str) -> str:
    match = re.search(r"^Digest: ([0-9a-f]{64})$", output, re.MULTILINE)
    assert match, output[-2000:]
    return match.group(1)


def _count(database: str, table: str) -> int:
    with psycopg.connect(_owner_conninfo(database)) as conn:
        return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def test_same_seed_same_data_on_fresh_databases(fresh_databases):
    first, second = fresh_databases
    seeded = _manage(first, "seed_comprehensive", *MINI)
    assert _digest(_manage(second, "seed_comprehensive", *MINI).stdout) == _digest(seeded.stdout)
    assert "admin@techcorp.example" in seeded.stdout and "platform@modernize.example" in seeded.stdout
    assert _count(first, "agent_task_history") == _count(second, "agent_task_history") > 0
    # Committed and readable by the runtime role inside each tenant's context.
    visible = re.search(r"^  TechCorp Solutions: (\d+) engagements, ([\d,]+) agent tasks, ([\d,]+) patterns$", seeded.stdout, re.MULTILINE)
    assert visible and int(visible.group(1)) == 3 and int(visible.group(3).replace(",", "")) == 150

    skipped = _manage(first, "seed_comprehensive", "--if-empty")
    assert "not seeding" in skipped.stdout and "viewer@globalretail.example" in skipped.stdout
    refused = _manage(second, "seed_comprehensive", *MINI, debug=False, check=False)
    assert refused.returncode != 0 and "--allow-demo-users" in refused.stderr
