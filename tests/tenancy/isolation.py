"""The isolation assertions shared by the generated RLS tests and the mutation test."""

from django.db import connections


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
