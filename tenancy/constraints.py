"""Database constraints that keep references inside one tenant.

Foreign-key checks bypass row-level security, so RLS alone cannot stop a row of client A
from pointing at a parent of client B. ``TenantForeignKey`` adds a composite foreign key
``(parent_id, client_account_id) REFERENCES parent (id, client_account_id)``; the parent
carries a matching ``UniqueConstraint(fields=["id", "client_account"])``. Django's own
single-column foreign key stays for the ORM; this one is the database's guarantee.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS
from django.db.backends.ddl_references import Statement, Table
from django.db.models import BaseConstraint


class TenantForeignKey(BaseConstraint):
    """FOREIGN KEY (<field>_id, <columns>...) REFERENCES <parent> (id, <columns>...).

    ``columns`` are field names present on both models (default: the client account).
    With MATCH SIMPLE semantics a NULL parent id is not checked, as for the plain FK.
    """

    def __init__(self, *, field: str, name: str, columns: tuple[str, ...] = ("client_account",), violation_error_message=None):
        self.field = field
        self.columns = tuple(columns)
        super().__init__(name=name, violation_error_message=violation_error_message)

    def _parts(self, model, schema_editor):
        fk = model._meta.get_field(self.field)
        parent = fk.related_model
        local = [fk.column] + [model._meta.get_field(c).column for c in self.columns]
        remote = [parent._meta.pk.column] + [parent._meta.get_field(c).column for c in self.columns]
        quote = schema_editor.quote_name
        return (
            quote(self.name),
            ", ".join(quote(c) for c in local),
            quote(parent._meta.db_table),
            ", ".join(quote(c) for c in remote),
        )

    def constraint_sql(self, model, schema_editor):
        name, local, parent, remote = self._parts(model, schema_editor)
        # Immediate, unlike Django's deferred FKs: a cross-tenant reference fails at the
        # statement that makes it, with an error naming the constraint.
        return f"CONSTRAINT {name} FOREIGN KEY ({local}) REFERENCES {parent} ({remote})"

    def create_sql(self, model, schema_editor):
        return Statement(
            "ALTER TABLE %(table)s ADD %(constraint)s",
            table=Table(model._meta.db_table, schema_editor.quote_name),
            constraint=self.constraint_sql(model, schema_editor),
        )

    def remove_sql(self, model, schema_editor):
        return Statement(
            "ALTER TABLE %(table)s DROP CONSTRAINT %(name)s",
            table=Table(model._meta.db_table, schema_editor.quote_name),
            name=schema_editor.quote_name(self.name),
        )

    def validate(self, model, instance, exclude=None, using=DEFAULT_DB_ALIAS):
        if exclude and self.field in exclude:
            return
        fk = model._meta.get_field(self.field)
        parent_id = getattr(instance, fk.attname)
        if parent_id is None:
            return
        expected = {c: getattr(instance, model._meta.get_field(c).attname) for c in self.columns}
        lookup = {f"{model._meta.get_field(c).attname}": v for c, v in expected.items()}
        if not fk.related_model._base_manager.using(using).filter(pk=parent_id, **lookup).exists():
            raise ValidationError(
                self.violation_error_message or f"{fk.verbose_name} belongs to another client account.",
                code="tenant_mismatch",
            )

    def __eq__(self, other):
        if isinstance(other, TenantForeignKey):
            return (self.name, self.field, self.columns) == (other.name, other.field, other.columns)
        return super().__eq__(other)

    def __hash__(self):
        return hash((self.name, self.field, self.columns))

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        kwargs["field"] = self.field
        if self.columns != ("client_account",):
            kwargs["columns"] = self.columns
        return path, args, kwargs
