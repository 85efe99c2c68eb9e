"""Users are global rows, but who they are is tenant information: a request sees itself and
the members of the client account in context, nothing else. Login and session lookups run
inside ``authentication_lookup`` (app.auth_lookup), see tenancy/context.py."""

from django.db import migrations

from tenancy.rls import APPLICATION_ROLE, CLIENT_SETTING, OWNER_POLICY, USER_SETTING

VISIBLE = (
    f"id = {USER_SETTING}"
    " OR (SELECT current_setting('app.auth_lookup', true)) = 'on'"
    f" OR id IN (SELECT m.user_id FROM client_memberships m WHERE m.client_account_id = {CLIENT_SETTING})"
)

FORWARD = [
    "ALTER TABLE users ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE users FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY users_visible ON users AS PERMISSIVE FOR SELECT TO {APPLICATION_ROLE} USING ({VISIBLE})",
    # The column grant limits this to last_login (stamped at login inside the
    # authentication lookup, see tenancy/apps.py); the row must be visible as well.
    f"CREATE POLICY users_last_login ON users AS PERMISSIVE FOR UPDATE TO {APPLICATION_ROLE} USING (true) WITH CHECK (true)",
    f"CREATE POLICY {OWNER_POLICY} ON users AS PERMISSIVE FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true)",
]
REVERSE = [
    f"DROP POLICY IF EXISTS {OWNER_POLICY} ON users",
    "DROP POLICY IF EXISTS users_last_login ON users",
    "DROP POLICY IF EXISTS users_visible ON users",
    "ALTER TABLE users NO FORCE ROW LEVEL SECURITY",
    "ALTER TABLE users DISABLE ROW LEVEL SECURITY",
]


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0003_engagement_access")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
