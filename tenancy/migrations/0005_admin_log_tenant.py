"""django_admin_log becomes a tenant table: client staff may write and read only their own.

The admin log keeps an object's repr and change message, so it must be as private as
the object. Django's LogEntry model is not ours to change; the column lives in the
database only: its default is the tenant in context (``app.client_id``), so every insert
on the runtime connection is tagged by PostgreSQL itself, and the tenant policy then
confines SELECT (recent actions, object history) and INSERT to that tenant. The runtime
role gets SELECT and INSERT only: entries are never edited. Entries written through the
owner (platform admins, whom tenants cannot see either: users are under RLS) have no
tenant and are visible to platform admins only; every platform admin request is in
security_audit_logs as well. Reverse drops it all again.
"""

from django.db import migrations

from tenancy.rls import tenant_rls_sql

TABLE = "django_admin_log"
RLS_FORWARD, RLS_REVERSE = tenant_rls_sql(TABLE, grants="SELECT, INSERT")
# A column default cannot hold the policies' sub-select; the bare expression is the same value.
TENANT_IN_CONTEXT = "nullif(current_setting('app.client_id', true), '')::uuid"


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0004_users_row_level_security"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[
                f"ALTER TABLE {TABLE} ADD COLUMN client_account_id uuid NULL "
                f"DEFAULT {TENANT_IN_CONTEXT} REFERENCES client_accounts (id) ON DELETE SET NULL",
                f"CREATE INDEX django_admin_log_client_time_idx ON {TABLE} (client_account_id, action_time DESC)",
                *RLS_FORWARD,
            ],
            reverse_sql=[
                *RLS_REVERSE,
                "DROP INDEX IF EXISTS django_admin_log_client_time_idx",
                f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS client_account_id",
            ],
        ),
    ]
