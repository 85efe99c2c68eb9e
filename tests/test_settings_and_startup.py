"""Production-safety of the settings and the start-up checks."""

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


def _env_example() -> dict:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def _run(code: str, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "MODERNIZE_TESTING", "DEBUG", "DJANGO_SETTINGS_MODULE")}
    return subprocess.run([sys.executable, "-c", code],
                          cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_the_production_variables():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**{k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}, **_env_example(), "DJANGO_SETTINGS_MODULE": "modernize.settings"},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_no_secret_key_outside_debug_is_refused():
    result = _run("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='modernize.settings'; django.setup()", {"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_is_off_unless_set():
    result = _run(
        "import os; os.environ['DJANGO_SETTINGS_MODULE']='modernize.settings'; from django.conf import settings; print(settings.DEBUG)",
        {"SECRET_KEY": "x" * 50, "CREDENTIAL_ENCRYPTION_KEYS": "k=" + "A" * 43 + "="},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.slow
def test_start_up_stops_with_one_sentence_without_pgvector(django_db_blocker):
    db = settings.DATABASES["owner"]
    name = f"scratch_novector_{uuid.uuid4().hex[:8]}"
    conninfo = f"host={db['HOST']} port={db['PORT']} dbname=postgres user={db['USER']} password={db['PASSWORD']}"
    with django_db_blocker.unblock():
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        try:
            result = _run(
                "import modernize.wsgi",
                {
                    "DJANGO_SETTINGS_MODULE": "tests.settings",
                    "DATABASE_URL": libpq_uri({**db, "NAME": name}),
                    "DATABASE_RUNTIME_URL": libpq_uri({**settings.DATABASES["default"], "NAME": name}),
                },
            )
        finally:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert result.returncode != 0
    assert "The vector extension is not installed in this database: run `CREATE EXTENSION vector;`" in result.stderr


@pytest.mark.django_db(databases=["default", "owner"])
def test_runtime_statements_are_bounded_outside_tenant_transactions_too():
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout')")
        statement_timeout, idle_timeout = cursor.fetchone()
    assert statement_timeout not in ("0", "") and idle_timeout not in ("0", "")


def test_manage_py_states_a_configuration_error_in_one_sentence():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "MODERNIZE_TESTING", "DEBUG", "DJANGO_SETTINGS_MODULE")},
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Configuration error: SECRET_KEY is not set: set it in the environment or .env (DEBUG=1 allows a development key)."
    ]
