"""Sends queries to the owner connection inside platform_context, else to the runtime one."""

from tenancy.context import OWNER_ALIAS, RUNTIME_ALIAS, current_platform


class TenantContextRouter:
    def db_for_read(self, model, **hints):
        return OWNER_ALIAS if current_platform() is not None else RUNTIME_ALIAS

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # Only the owner runs DDL; the runtime role could not anyway.
        return db == OWNER_ALIAS
