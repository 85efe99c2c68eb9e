"""Helpers for tests that must hit the database (not Python validation).

Rows go in with ``bulk_create`` (no model validation) on the connection the router picks
for the active context; deferred constraints (the composite tenant foreign keys) are made
immediate so the violation surfaces inside the test instead of at a commit that never comes.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connections, router, transaction


def constraint_of(error: Exception) -> str | None:
    """The constraint PostgreSQL names in the error (psycopg's diagnostics)."""
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def make_immediate(using: str) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def db_insert(*objs) -> None:
    """Insert ``objs`` (one model) and check every constraint now; raises on violation."""
    model = type(objs[0])
    using = router.db_for_write(model)
    with transaction.atomic(using=using):
        model.objects.using(using).bulk_create(list(objs))
        make_immediate(using)


def assert_rejected(obj, constraint: str) -> None:
    """The database refuses ``obj`` and names ``constraint`` as the reason."""
    with pytest.raises(IntegrityError) as info:
        db_insert(obj)
    assert constraint_of(info.value) == constraint, str(info.value)


def raw_insert(using: str, table: str, values: dict) -> None:
    """INSERT one row with raw SQL on ``using`` and check constraints immediately."""
    columns = ", ".join(f'"{c}"' for c in values)
    placeholders = ", ".join(["%s"] * len(values))
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({placeholders})', list(values.values()))
        make_immediate(using)
