"""Row-level security, tested for every tenant table found in the model registry.

A new tenant model is covered without writing a test: it is picked up here through
``tenant_tables()`` and its factory. Everything runs on the runtime connection (the role
requests use); the owner is only used to build the committed world.
"""

import copy
import uuid

import pytest
from django.apps import apps
from django.db import DatabaseError, connections, transaction

from tenancy.checks import tenant_tables
from tenancy.context import RUNTIME_ALIAS, tenant_context
from tests.tenancy.isolation import assert_isolated, make_tenant_row

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

TENANT_MODELS = sorted((apps.get_model(label) for label in tenant_tables().values()), key=lambda m: m._meta.db_table)
ROW_MODELS = [m for m in TENANT_MODELS if m._meta.label != "tenancy.ClientAccount"]


def _column(model) -> str:
    return "id" if model._meta.label == "tenancy.ClientAccount" else "client_account_id"


def _make_row(model, tenant):
    return make_tenant_row(model, tenant)


def _execute(sql, params) -> int:
    with connections[RUNTIME_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def test_every_tenant_model_is_tested():
    assert {m._meta.db_table for m in TENANT_MODELS} == set(tenant_tables())
    assert len(TENANT_MODELS) >= 6


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.db_table)
def test_select_in_context_returns_only_own_rows(world, model):
    if model in ROW_MODELS:
        _make_row(model, world.a)
        _make_row(model, world.b)
    table = model._meta.db_table
    with tenant_context(world.a.id):
        assert_isolated(table, _column(model), world.a.id)
        own = model.objects.count()
        assert own >= 1
        assert model._base_manager.filter(**{f"{_column(model)}": world.b.id}).count() == 0


@pytest.mark.parametrize("model", ROW_MODELS, ids=lambda m: m._meta.db_table)
def test_insert_of_other_tenant_row_fails(world, model):
    row = _make_row(model, world.a)
    table = model._meta.db_table
    with tenant_context(world.a.id):
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(using=RUNTIME_ALIAS):
                # Moving an own row into B is the same WITH CHECK as inserting a B row.
                _execute(f'UPDATE "{table}" SET client_account_id = %s WHERE id = %s', [world.b.id, row.pk])
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(using=RUNTIME_ALIAS):
                _clone_into(model, row, world.b)


def _clone_into(model, row, tenant):
    """Insert a copy of ``row`` that claims to belong to ``tenant``."""
    clone = copy.copy(row)
    clone.id = uuid.uuid4()
    clone.client_account_id = tenant.id
    if hasattr(clone, "engagement_id"):
        clone.engagement_id = tenant.engagements[0].id
    clone.save(force_insert=True)


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.db_table)
def test_update_and_delete_of_other_tenant_rows_affect_nothing(world, model):
    b_row_id = _make_row(model, world.b).pk if model in ROW_MODELS else world.b.id
    table, column = model._meta.db_table, _column(model)
    with tenant_context(world.a.id):
        assert _execute(f'UPDATE "{table}" SET {column} = {column} WHERE id = %s', [b_row_id]) == 0
        assert _execute(f'DELETE FROM "{table}" WHERE id = %s', [b_row_id]) == 0
    with tenant_context(world.b.id):
        assert model._base_manager.filter(pk=b_row_id).exists()


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.db_table)
def test_without_context_nothing_is_visible_or_writable(world, model):
    a_row = _make_row(model, world.a) if model in ROW_MODELS else world.a.account
    table = model._meta.db_table
    with connections[RUNTIME_ALIAS].cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        assert cursor.fetchone()[0] == 0
    if model in ROW_MODELS:
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(using=RUNTIME_ALIAS):
                _clone_into(model, a_row, world.a)
    assert a_row.pk is not None


def test_client_account_cannot_be_created_from_a_tenant_context(world):
    from seeding.factories.tenancy import ClientAccountFactory

    with tenant_context(world.a.id):
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(using=RUNTIME_ALIAS):
                ClientAccountFactory(slug="intruder")
