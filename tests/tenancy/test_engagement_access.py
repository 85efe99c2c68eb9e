"""Role-based access inside a client account, enforced by the engagement policies.

Generated over every engagement-scoped table of the model registry. Runs on the runtime
connection with the role and engagement list the middleware would set.
"""

import pytest
from django.apps import apps
from django.db import DatabaseError, connections, transaction

from tenancy.checks import engagement_tables
from tenancy.context import RUNTIME_ALIAS, tenant_context
from tests.tenancy.isolation import make_tenant_row

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

ENGAGEMENT_MODELS = sorted((apps.get_model(label) for label in engagement_tables().values()), key=lambda m: m._meta.db_table)
ROW_MODELS = [m for m in ENGAGEMENT_MODELS if m._meta.label != "tenancy.Engagement"]
WRITABLE_BY_VIEWERS = {"security_audit_logs", "credential_access_logs", "llm_usage_logs"}


def _column(model):
    return "id" if model._meta.label == "tenancy.Engagement" else "engagement_id"


def _engagements_seen(model, **context) -> set:
    table, column = model._meta.db_table, _column(model)
    with tenant_context(context.pop("client"), **context):
        with connections[RUNTIME_ALIAS].cursor() as cursor:
            cursor.execute(f'SELECT DISTINCT "{column}" FROM "{table}"')
            return {row[0] for row in cursor.fetchall()}


def _rows_in_both_engagements(model, tenant):
    if model in ROW_MODELS:
        for engagement in tenant.engagements:
            make_tenant_row(model, tenant, engagement=engagement)


def test_engagement_tables_are_found():
    assert {"engagements", "engagement_assignments", "security_audit_logs"} <= set(engagement_tables())


@pytest.mark.parametrize("model", ENGAGEMENT_MODELS, ids=lambda m: m._meta.db_table)
def test_analyst_of_e1_never_sees_e2(world, model):
    _rows_in_both_engagements(model, world.a)
    e1, e2 = (e.id for e in world.a.engagements)
    seen = _engagements_seen(model, client=world.a.id, role="analyst", engagement_ids=[e1])
    assert e2 not in seen
    assert e1 in seen


@pytest.mark.parametrize("model", ENGAGEMENT_MODELS, ids=lambda m: m._meta.db_table)
def test_manager_sees_every_engagement(world, model):
    _rows_in_both_engagements(model, world.a)
    seen = _engagements_seen(model, client=world.a.id, role="engagement_manager")
    assert {e.id for e in world.a.engagements} <= seen


@pytest.mark.parametrize("model", [m for m in ROW_MODELS if m._meta.db_table not in WRITABLE_BY_VIEWERS], ids=lambda m: m._meta.db_table)
def test_viewer_writes_are_refused_by_policy(world, model):
    row = make_tenant_row(model, world.a)
    table = model._meta.db_table
    e1 = world.a.engagements[0].id
    with tenant_context(world.a.id, role="viewer", engagement_ids=[e1]):
        with connections[RUNTIME_ALIAS].cursor() as cursor:
            cursor.execute(f'UPDATE "{table}" SET updated_at = now() WHERE id = %s', [row.pk])
            assert cursor.rowcount == 0
            cursor.execute(f'DELETE FROM "{table}" WHERE id = %s', [row.pk])
            assert cursor.rowcount == 0
            cursor.execute(f'SELECT count(*) FROM "{table}" WHERE id = %s', [row.pk])
            assert cursor.fetchone()[0] == 1  # visible, just not writable
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(using=RUNTIME_ALIAS):
                import copy
                import uuid

                clone = copy.copy(row)
                clone.id = uuid.uuid4()
                clone.save(force_insert=True)


def test_viewer_cannot_create_an_engagement(world):
    from seeding.factories.tenancy import EngagementFactory

    with tenant_context(world.a.id, role="viewer", engagement_ids=[]):
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(using=RUNTIME_ALIAS):
                EngagementFactory(client_account=world.a.account)


def test_client_level_rows_are_visible_to_every_member(world):
    from modernize.security.services import security_event_record

    with tenant_context(world.a.id):
        event = security_event_record(event_type="client_level", event_category="data_access", description="client-wide")
    with tenant_context(world.a.id, role="viewer", engagement_ids=[]):
        from modernize.security.models import SecurityAuditLog

        assert SecurityAuditLog.objects.filter(pk=event.pk).exists()


def test_analyst_sees_only_assigned_engagements_through_the_api(client, world):
    response = client.post("/api/v1/auth/token/", {"email": world.a.users["analyst"].email, "password": world.password}, content_type="application/json")
    token = response.json()["token"]
    body = client.get("/api/v1/engagements/", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert [e["id"] for e in body["results"]] == [str(world.a.engagements[0].id)]



def test_viewer_write_through_the_api_is_403_with_a_clear_message(client, world):
    client.force_login(world.a.users["viewer"])
    response = client.post("/api/v1/engagements/", {"name": "X", "slug": "x-new"}, content_type="application/json")
    assert response.status_code == 403
    assert "role or higher" in response.json()["error"]["message"]


def test_manager_creates_an_engagement_through_the_api(client, world):
    client.force_login(world.a.users["engagement_manager"])
    response = client.post("/api/v1/engagements/", {"name": "Cloud Landing Zone", "slug": "landing-zone"}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["client_account_id"] == str(world.a.id)
