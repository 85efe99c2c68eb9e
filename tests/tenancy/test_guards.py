"""The guards around RLS: coverage check, rls_status, start-up refusal, and a mutation
test showing the isolation assertion catches a leak when a policy is broken."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from tenancy import checks
from tenancy.context import tenant_context
from tenancy.rls import CLIENT_SETTING
from tests.tenancy.isolation import assert_isolated, foreign_rows

ROOT = Path(__file__).resolve().parents[2]


def _owner_conninfo() -> str:
    db = settings.DATABASES["owner"]
    return f"host={db['HOST']} port={db['PORT']} dbname={db['NAME']} user={db['USER']} password={db['PASSWORD']}"


def test_system_check_names_an_uncovered_tenant_table(monkeypatch):
    assert checks.check_every_tenant_table_has_rls() == []
    covered = checks.rls_covered_tables()
    monkeypatch.setattr(checks, "rls_covered_tables", lambda: covered - {"engagements"})
    errors = checks.check_every_tenant_table_has_rls()
    assert [e.id for e in errors] == ["tenancy.E001"]
    assert "engagements" in errors[0].msg


@pytest.mark.django_db(databases=["default", "owner"])
def test_rls_status_covers_every_tenant_table(capsys):
    call_command("rls_status", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert {"table", "tenant_table", "rls_enabled", "rls_forced", "policies", "covered"} <= set(rows[0])
    tenant_rows = [r for r in rows if r["tenant_table"]]
    assert {r["table"] for r in tenant_rows} == set(checks.tenant_tables())
    assert all(r["covered"] for r in tenant_rows)
    engagements = next(r for r in rows if r["table"] == "engagements")
    policy = next(p for p in engagements["policies"] if p["name"] == "tenant_isolation")
    assert policy["roles"] == ["application_role"] and policy["command"] == "ALL"
    assert "current_setting('app.client_id'" in policy["using"]


def test_rls_status_exits_1_for_an_uncovered_table(world, django_db_blocker):
    with django_db_blocker.unblock():
        with psycopg.connect(_owner_conninfo(), autocommit=True) as conn:
            conn.execute("ALTER TABLE engagements NO FORCE ROW LEVEL SECURITY")
        try:
            result = subprocess.run(
                [sys.executable, "manage.py", "rls_status"], cwd=ROOT, capture_output=True, text=True,
                env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **_test_database_env()}, timeout=60,
            )
        finally:
            with psycopg.connect(_owner_conninfo(), autocommit=True) as conn:
                conn.execute("ALTER TABLE engagements FORCE ROW LEVEL SECURITY")
    assert result.returncode == 1
    assert "engagements" in result.stderr


def _url(db: dict) -> str:
    from tenancy.management.commands.database_url import libpq_uri

    return libpq_uri(db)


def _test_database_env(runtime: dict | None = None) -> dict:
    return {"DATABASE_URL": _url(settings.DATABASES["owner"]), "DATABASE_RUNTIME_URL": _url(runtime or settings.DATABASES["default"])}


def _start_wsgi(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import modernize.wsgi"], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env}, timeout=60,
    )


def test_start_up_refuses_a_superuser_runtime_url(world):
    if not settings.EMBEDDED_DATABASE:
        pytest.fail("this test needs the embedded server's superuser credentials")
    superuser = json.loads((settings.DATA_DIR / "credentials.json").read_text())["postgres"]
    runtime = {**settings.DATABASES["default"], "USER": "postgres", "PASSWORD": superuser}
    result = _start_wsgi(_test_database_env(runtime))
    assert result.returncode != 0
    assert "is a superuser, which bypasses row-level security" in result.stderr


def test_start_up_refuses_the_owner_as_runtime_role(world):
    result = _start_wsgi(_test_database_env(settings.DATABASES["owner"]))
    assert result.returncode != 0
    assert "owns (or can become the owner of) tenant tables" in result.stderr


def test_start_up_accepts_the_runtime_role(world):
    result = _start_wsgi(_test_database_env())
    assert result.returncode == 0, result.stderr


def test_mutation_a_permissive_policy_is_detected_as_a_leak(world, django_db_blocker):
    """Break the tenant policy for real (committed), and watch the isolation assertion fail."""
    with django_db_blocker.unblock():
        with tenant_context(world.a.id):
            assert_isolated("engagements", "client_account_id", world.a.id)
        with psycopg.connect(_owner_conninfo(), autocommit=True) as conn:
            conn.execute("ALTER POLICY tenant_isolation ON engagements USING (true) WITH CHECK (true)")
        try:
            with tenant_context(world.a.id):
                assert foreign_rows("engagements", "client_account_id", world.a.id)
                with pytest.raises(AssertionError, match="rows of other client accounts visible"):
                    assert_isolated("engagements", "client_account_id", world.a.id)
        finally:
            with psycopg.connect(_owner_conninfo(), autocommit=True) as conn:
                predicate = f"client_account_id = {CLIENT_SETTING}"
                conn.execute(f"ALTER POLICY tenant_isolation ON engagements USING ({predicate}) WITH CHECK ({predicate})")
            connections["default"].close()
        with tenant_context(world.a.id):
            assert_isolated("engagements", "client_account_id", world.a.id)


def test_mutation_skipping_the_context_setting_is_detected(world, django_db_blocker):
    """If the context set app.client_id for the wrong tenant, the assertion would catch it."""
    with django_db_blocker.unblock():
        with tenant_context(world.b.id):
            with pytest.raises(AssertionError):
                assert_isolated("engagements", "client_account_id", world.a.id)


def test_mutation_removing_the_engagement_predicate_is_detected(world, django_db_blocker):
    """Drop the engagement predicate for real (committed) and watch the analyst see E2."""
    from tenancy.models import Engagement
    from tests.tenancy.test_engagement_access import _engagements_seen
    from tenancy.rls import engagement_rls_sql

    conninfo = _owner_conninfo()
    e1, e2 = (e.id for e in world.a.engagements)
    with django_db_blocker.unblock():
        assert e2 not in _engagements_seen(Engagement, client=world.a.id, role="analyst", engagement_ids=[e1])
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("ALTER POLICY engagement_access ON engagements USING (true) WITH CHECK (true)")
        try:
            leaked = _engagements_seen(Engagement, client=world.a.id, role="analyst", engagement_ids=[e1])
            with pytest.raises(AssertionError):
                assert e2 not in leaked
        finally:
            forward, reverse = engagement_rls_sql("engagements", column="id", nullable=False, viewers_read_only=False)
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(reverse[-1])
                conn.execute(forward[0])
            connections["default"].close()
        assert e2 not in _engagements_seen(Engagement, client=world.a.id, role="analyst", engagement_ids=[e1])
