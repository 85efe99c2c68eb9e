"""Bulk writes of the seeder: binary COPY into a staging table, then INSERT … SELECT.

COPY FROM refuses a table under row-level security, and FORCE applies it to the owner
too; a TEMP staging table has no RLS, and ``INSERT INTO target SELECT … FROM staging``
is an ordinary insert that the ``platform_owner`` policy admits. RLS stays enabled and
forced on every target table throughout. Everything here runs on the owner connection
inside ``platform_context`` (the caller's transaction).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Sequence

from django.db import connections
from django.db.models import Model

from tenancy.context import OWNER_ALIAS, current_platform


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def model_columns(model: type[Model]) -> list[str]:
    """The table's columns in model field order (the order rows are built in)."""
    return [field.column for field in model._meta.concrete_fields]


class BulkLoader:
    """Loads rows (tuples in ``model_columns`` order) into model tables through staging tables.

    One staging table per target, created on first use and dropped by ``close``. Values
    are Python objects psycopg dumps in binary (uuid, datetime, Decimal, dict for jsonb,
    numpy arrays for vectors); strings given for inet columns are parsed.
    """

    def __init__(self):
        if current_platform() is None:
            raise RuntimeError("BulkLoader writes across tenants: use it inside platform_context.")
        self.connection = connections[OWNER_ALIAS]
        self.connection.ensure_connection()
        self._staging: dict[str, tuple[str, list[int], list[int]]] = {}
        # Seconds spent in COPY (client encoding + server parsing) and in INSERT … SELECT, per table.
        self.copy_seconds: dict[str, float] = {}
        self.insert_seconds: dict[str, float] = {}
        self._register_vector()

    def _register_vector(self) -> None:
        from pgvector.psycopg import register_vector

        register_vector(self.connection.connection)

    def _stage(self, table: str, columns: Sequence[str]) -> tuple[str, list[int], list[int]]:
        if table in self._staging:
            return self._staging[table]
        staging = f"seed_stage_{table}"
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {_q(staging)}")
            # No constraints, no indexes, no RLS: a bare copy of the columns.
            cursor.execute(f"CREATE TEMP TABLE {_q(staging)} (LIKE {_q(table)} INCLUDING DEFAULTS)")
            cursor.execute(
                "SELECT a.attname, a.atttypid FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                [staging],
            )
            oids = dict(cursor.fetchall())
            cursor.execute("SELECT 'inet'::regtype::oid")
            inet_oid = cursor.fetchone()[0]
        types = [oids[c] for c in columns]
        inet_positions = [i for i, oid in enumerate(types) if oid == inet_oid]
        self._staging[table] = (staging, types, inet_positions)
        return self._staging[table]

    def load(self, model: type[Model], rows: Iterable[Sequence], *, columns: Sequence[str] | None = None) -> int:
        """Insert ``rows`` into ``model``'s table; return how many. Constraints are checked as usual."""
        table = model._meta.db_table
        columns = list(columns or model_columns(model))
        staging, types, inet_positions = self._stage(table, columns)
        column_list = ", ".join(_q(c) for c in columns)
        count = 0
        started = time.monotonic()
        with self.connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {_q(staging)} ({column_list}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in rows:
                    if inet_positions:
                        row = list(row)
                        for i in inet_positions:
                            if isinstance(row[i], str):
                                row[i] = ipaddress.ip_address(row[i])
                    copy.write_row(row)
                    count += 1
            copied = time.monotonic()
            if count:
                cursor.execute(f"INSERT INTO {_q(table)} ({column_list}) SELECT {column_list} FROM {_q(staging)}")
            cursor.execute(f"TRUNCATE {_q(staging)}")
        self.copy_seconds[table] = self.copy_seconds.get(table, 0.0) + copied - started
        self.insert_seconds[table] = self.insert_seconds.get(table, 0.0) + time.monotonic() - copied
        return count

    def close(self) -> None:
        with self.connection.cursor() as cursor:
            for staging, _, _ in self._staging.values():
                cursor.execute(f"DROP TABLE IF EXISTS {_q(staging)}")
        self._staging.clear()


def model_row(instance: Model) -> tuple:
    """A built (unsaved) model instance as a row in ``model_columns`` order."""
    return tuple(getattr(instance, field.attname) for field in instance._meta.concrete_fields)


class BulkLoadMode:
    """Drops a table's foreign keys and secondary indexes for a bulk load, and restores them.

    Building an index once over loaded rows, and validating a foreign key with one join,
    is far cheaper than maintaining ten indexes and queueing five key checks per inserted
    row. Everything happens in the caller's transaction: other sessions never see the
    table without its keys (they wait on the lock), and a failed load rolls the drop back.
    ``restore`` recreates the exact definitions read from the catalog (pg_get_indexdef,
    pg_get_constraintdef); primary keys, unique and check constraints are never dropped,
    nor is row-level security touched.
    """

    def __init__(self):
        self.connection = connections[OWNER_ALIAS]
        self.saved: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]] = []

    def drop(self, table: str) -> None:
        with self.connection.cursor() as cursor:
            _check_deferred_now(cursor)
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                [table],
            )
            keys = cursor.fetchall()
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT i.indisunique "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname",
                [table],
            )
            indexes = cursor.fetchall()
            for name, _ in keys:
                cursor.execute(f"ALTER TABLE {_q(table)} DROP CONSTRAINT {_q(name)}")
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {_q(name)}")
        self.saved.append((table, keys, indexes))

    def restore(self, on_index=None) -> None:
        """Recreate every dropped index, then every foreign key (validated against all rows)."""
        with self.connection.cursor() as cursor:
            _check_deferred_now(cursor)
            for table, keys, indexes in self.saved:
                for name, definition in indexes:
                    started = time.monotonic()
                    cursor.execute(definition)
                    if on_index is not None:
                        on_index(table, name, time.monotonic() - started)
                for name, definition in keys:
                    cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
        self.saved.clear()


def _check_deferred_now(cursor) -> None:
    """Run the queued deferred key checks: ALTER TABLE and CREATE INDEX refuse tables that have some."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
