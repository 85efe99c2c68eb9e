"""Re-running, resetting, dry runs and the development-password guard (in the test's transaction)."""

import io

import pytest
from django.core.management import CommandError, call_command

from modernize.agents.models import AgentTaskHistory
from seeding.constants import DEMO_PASSWORD, PLATFORM_ADMIN_EMAIL, TEST_TENANT_1, TEST_TENANT_2, tenant_specs
from seeding.factories.flows import MasterFlowFactory
from seeding.selectors import seeded_data_digest
from tenancy.context import platform_context
from tenancy.models import ClientAccount, User

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def _counts(ids):
    from django.apps import apps

    with platform_context(reason="tests: row counts"):
        return {
            m._meta.db_table: m.objects.filter(client_account_id__in=ids).count()
            for m in apps.get_models()
            if any(f.name == "client_account" for f in m._meta.concrete_fields)
        }


def test_running_twice_leaves_the_same_rows_not_twice_the_rows(seed):
    ids = [TEST_TENANT_1, TEST_TENANT_2]
    seed()
    first_counts, first_digest = _counts(ids), seeded_data_digest(client_account_ids=ids)
    report = seed()
    assert _counts(ids) == first_counts and seeded_data_digest(client_account_ids=ids) == first_digest
    assert report.removed_rows == sum(first_counts.values()) + 2  # every tenant row, the two accounts included
    assert first_counts["agent_task_history"] > 0


def test_another_seed_gives_other_content(seed):
    ids = [TEST_TENANT_1, TEST_TENANT_2]
    seed()
    first = seeded_data_digest(client_account_ids=ids)
    seed(seed=7)
    assert seeded_data_digest(client_account_ids=ids) != first


def test_reset_removes_the_seeded_tenants_only(seed, world):
    with platform_context(reason="tests: a row of a real tenant"):
        MasterFlowFactory(engagement=world.a.engagements[0])
    others = [world.a.id, world.b.id]
    before = seeded_data_digest(client_account_ids=others, include_users=False), _counts(others)
    seed(tenants=3)
    third = tenant_specs(3)[2].id
    seed(tenants=2, reset=True)
    with platform_context(reason="tests: which tenants remain"):
        remaining = set(ClientAccount.objects.values_list("id", flat=True))
    assert third not in remaining and {TEST_TENANT_1, TEST_TENANT_2} <= remaining
    assert (seeded_data_digest(client_account_ids=others, include_users=False), _counts(others)) == before
    assert before[1]["crewai_flow_state_extensions"] >= 1


def test_login_users_get_the_documented_password(seed):
    seed()
    with platform_context(reason="tests: seeded logins"):
        admin = User.objects.get(email="admin@techcorp.example")
        platform = User.objects.get(email=PLATFORM_ADMIN_EMAIL)
    assert admin.check_password(DEMO_PASSWORD) and platform.check_password(DEMO_PASSWORD)
    assert platform.is_platform_admin and platform.is_superuser


def test_the_command_refuses_known_passwords_when_debug_is_off(settings, mini_profile):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--allow-demo-users"):
        call_command("seed_comprehensive", "--profile", mini_profile, stdout=io.StringIO())
    with platform_context(reason="tests: nothing was written"):
        assert not ClientAccount.objects.filter(id=TEST_TENANT_1).exists()


def test_dry_run_writes_nothing(settings, mini_profile):
    settings.DEBUG = False  # a dry run creates no user, so the guard does not apply
    out = io.StringIO()
    call_command("seed_comprehensive", "--profile", mini_profile, "--dry-run", stdout=out)
    with platform_context(reason="tests: nothing was written"):
        assert not ClientAccount.objects.filter(id=TEST_TENANT_1).exists()
        assert not AgentTaskHistory.objects.exists()
    assert "Would write" in out.getvalue() and "agent_task_history" in out.getvalue()


def test_if_empty_skips_a_populated_database_and_prints_the_logins(settings, world, mini_profile):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_comprehensive", "--profile", mini_profile, "--if-empty", stdout=out)
    with platform_context(reason="tests: nothing was written"):
        assert not ClientAccount.objects.filter(id=TEST_TENANT_1).exists()
    assert "not seeding" in out.getvalue()
    assert "admin@techcorp.example" in out.getvalue() and DEMO_PASSWORD in out.getvalue()


def _schema_of(table):
    from django.db import connections

    with platform_context(reason="tests: catalog"):
        with connections["owner"].cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname", [table])
            indexes = [r[0] for r in cursor.fetchall()]
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY conname", [table]
            )
            constraints = cursor.fetchall()
            cursor.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass", [table])
            rls = cursor.fetchone()
    return indexes, constraints, rls


def test_the_bulk_path_restores_keys_indexes_and_rls_exactly(seed):
    """600 patterns take the bulk path (keys and indexes dropped, HNSW rebuilt); twice, to replace."""
    before = _schema_of("agent_discovered_patterns")
    assert any("hnsw" in definition for definition in before[0]) and any("FOREIGN KEY" in d for _, d in before[1])
    seed(patterns=600)
    first = seeded_data_digest(client_account_ids=[TEST_TENANT_1, TEST_TENANT_2])
    report = seed(patterns=600)
    assert _schema_of("agent_discovered_patterns") == before and before[2] == (True, True)
    assert seeded_data_digest(client_account_ids=[TEST_TENANT_1, TEST_TENANT_2]) == first
    assert "recreate keys and indexes" in report.phases and report.stats["agent_discovered_patterns"].rows == 600
