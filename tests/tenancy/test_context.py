import pytest
from django.db import connections

from seeding.factories.tenancy import EngagementFactory
from tenancy.context import TenantContextError, platform_context, tenant_context
from tenancy.models import Engagement

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def _setting(name):
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [name])
        return cursor.fetchone()[0]


def test_runtime_connection_is_not_privileged():
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)


def test_tenant_context_shows_only_its_rows(world):
    with tenant_context(world.a.id):
        names = set(Engagement.objects.values_list("name", flat=True))
    assert names == {"A engagement 1", "A engagement 2"}


def test_no_context_shows_nothing(world):
    assert Engagement.objects.count() == 0


def test_settings_do_not_outlive_the_context_inside_an_outer_transaction(world):
    with tenant_context(world.a.id):
        assert _setting("app.client_id") == str(world.a.id)
    assert _setting("app.client_id") in ("", None)
    assert Engagement.objects.count() == 0


def test_entering_another_tenant_raises(world):
    with tenant_context(world.a.id):
        with pytest.raises(TenantContextError):
            with tenant_context(world.b.id):
                pass


def test_platform_context_sees_all_tenants(world):
    with platform_context(reason="test"):
        assert Engagement.objects.filter(client_account__slug__in=["tenant-a", "tenant-b"]).count() == 4


def test_insert_of_other_tenant_row_is_refused(world):
    from django.db import DatabaseError

    with pytest.raises(DatabaseError, match="row-level security"):
        with tenant_context(world.a.id):
            EngagementFactory(client_account=world.b.account)
