"""Migrations apply from zero, reverse to zero app by app, and apply again.

Runs `manage.py migrate` in subprocesses against a scratch database created by the owner,
so the shared test database (and its committed world) is untouched.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tenancy.management.commands.database_url import libpq_uri

ROOT = Path(__file__).resolve().parents[1]
# Reverse order of dependence: an app is unapplied before the apps it builds on.
APPS_REVERSED = ["patterns", "platforms", "llm", "agents", "flows", "security", "tenancy"]

pytestmark = pytest.mark.slow


def _owner_conninfo(dbname: str) -> str:
    db = settings.DATABASES["owner"]
    return f"host={db['HOST']} port={db['PORT']} dbname={dbname} user={db['USER']} password={db['PASSWORD']}"


@pytest.fixture
def scratch_database(django_db_blocker):
    name = f"scratch_migrations_{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        with psycopg.connect(_owner_conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            with psycopg.connect(_owner_conninfo("postgres"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(database: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": libpq_uri({**settings.DATABASES["owner"], "NAME": database}),
        "DATABASE_RUNTIME_URL": libpq_uri({**settings.DATABASES["default"], "NAME": database}),
    }
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def _tables(database: str) -> set[str]:
    with psycopg.connect(_owner_conninfo(database)) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def test_migrations_apply_reverse_and_reapply(scratch_database):
    _manage(scratch_database, "migrate", "--no-input")
    full = _tables(scratch_database)
    assert {"client_accounts", "engagements", "security_audit_logs"} <= full
    for app in APPS_REVERSED:
        if app in _installed_apps_with_migrations():
            _manage(scratch_database, "migrate", app, "zero", "--no-input")
    remaining = _tables(scratch_database) & {"client_accounts", "engagements", "security_audit_logs", "agent_discovered_patterns"}
    assert remaining == set()
    _manage(scratch_database, "migrate", "--no-input")
    assert _tables(scratch_database) == full
    status = _manage(scratch_database, "rls_status")
    assert "tenant tables covered" in status.stdout


def _installed_apps_with_migrations() -> set[str]:
    from django.apps import apps

    return {c.label for c in apps.get_app_configs() if (Path(c.path) / "migrations").is_dir()}


def test_models_and_migrations_agree():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
