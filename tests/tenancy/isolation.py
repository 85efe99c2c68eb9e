"""The isolation assertions shared by the generated RLS tests and the mutation test."""

from django.db import connections

from seeding.factories.registry import factory_for
from tenancy.context import tenant_context
from tenancy.models import User


def foreign_rows(table: str, tenant_column: str, client_account_id) -> list:
    """Rows of ``table`` visible on the runtime connection that belong to another client."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            f'SELECT "{tenant_column}" FROM "{table}" WHERE "{tenant_column}" IS DISTINCT FROM %s',
            [client_account_id],
        )
        return cursor.fetchall()


def assert_isolated(table: str, tenant_column: str, client_account_id) -> None:
    leaked = foreign_rows(table, tenant_column, client_account_id)
    assert not leaked, f"{table}: {len(leaked)} rows of other client accounts visible in the context of {client_account_id}"


def make_tenant_row(model, tenant, *, engagement=None):
    """A fresh row of ``model`` for ``tenant`` (in ``engagement``, default its first),
    written by its factory inside the tenant's context."""
    kwargs = {"client_account": tenant.account}
    for field in model._meta.concrete_fields:
        if field.name == "engagement":
            kwargs["engagement"] = engagement or tenant.engagements[0]
        elif field.is_relation and field.related_model is User:
            # Users are global rows the runtime role cannot create: a required reference
            # gets a committed user with no membership yet (membership tables are unique
            # per user); an optional one stays empty.
            kwargs[field.name] = None if field.null else tenant.spare_user
    with tenant_context(tenant.id):
        return factory_for(model)(**kwargs)
