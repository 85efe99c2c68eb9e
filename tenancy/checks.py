"""System checks: no multi-tenant table escapes row-level security.

A model with a ``client_account_id`` column is a tenant table; its table must be the
subject of an ``EnableTenantRLS`` operation in some migration. The check reads the
migration files (no database needed), so it fails before such a table is ever deployed.
"""

from __future__ import annotations

from django.apps import apps
from django.core import checks

from tenancy.rls import EnableEngagementRLS, EnableTenantRLS


def tenant_tables() -> dict[str, str]:
    """db_table -> model label for every concrete, managed model with a client account."""
    tables = {}
    for model in apps.get_models():
        opts = model._meta
        if opts.abstract or not opts.managed or opts.proxy:
            continue
        if opts.label == "tenancy.ClientAccount" or any(f.column == "client_account_id" for f in opts.concrete_fields):
            tables[opts.db_table] = opts.label
    return tables


def engagement_tables() -> dict[str, str]:
    """db_table -> model label for every tenant model with an engagement (or engagements itself)."""
    tables = {}
    for table, label in tenant_tables().items():
        model = apps.get_model(label)
        if label == "tenancy.Engagement" or any(f.column == "engagement_id" for f in model._meta.concrete_fields):
            tables[table] = label
    return tables


def _tables_of(operation_class) -> set[str]:
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    return {
        operation.table
        for migration in loader.disk_migrations.values()
        for operation in migration.operations
        if isinstance(operation, operation_class)
    }


def rls_covered_tables() -> set[str]:
    """Tables put under RLS by an EnableTenantRLS operation of any migration on disk."""
    return _tables_of(EnableTenantRLS)


def engagement_covered_tables() -> set[str]:
    """Tables given engagement/role policies by EnableEngagementRLS in the migrations."""
    return _tables_of(EnableEngagementRLS)


@checks.register("tenancy")
def check_every_tenant_table_has_rls(app_configs=None, **kwargs):
    covered = rls_covered_tables()
    return [
        checks.Error(
            f"Tenant table {table} ({label}) has no row-level security: add EnableTenantRLS({table!r}) to a migration.",
            id="tenancy.E001",
            obj=label,
        )
        for table, label in sorted(tenant_tables().items())
        if table not in covered
    ]


@checks.register("tenancy")
def check_every_engagement_table_has_role_policies(app_configs=None, **kwargs):
    covered = engagement_covered_tables()
    return [
        checks.Error(
            f"Engagement-scoped table {table} ({label}) has no engagement/role policies: add EnableEngagementRLS({table!r}) to a migration.",
            id="tenancy.E002",
            obj=label,
        )
        for table, label in sorted(engagement_tables().items())
        if table not in covered
    ]
