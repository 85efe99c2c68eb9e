"""Row-level security as migration operations.

Every multi-tenant table gets, through ``EnableTenantRLS``:

* ``ENABLE`` and ``FORCE ROW LEVEL SECURITY``;
* ``tenant_isolation``: ``FOR ALL TO application_role`` with ``USING`` and ``WITH CHECK``
  on ``client_account_id = (SELECT nullif(current_setting('app.client_id', true), '')::uuid)``.
  The sub-select is evaluated once per query (an InitPlan), so the predicate stays an
  index condition; with no context it is NULL and matches nothing (fail closed);
* ``platform_owner``: the schema owner (the role running the migration, used only
  through ``platform_context``) sees every row; FORCE would otherwise lock it out too;
* the grants of application_role on the table.

Policies key on settings made by ``tenancy.context``; their names and the settings
are the contract between the two files.
"""

from __future__ import annotations

from django.db import migrations

APPLICATION_ROLE = "application_role"
CLIENT_SETTING = "(SELECT nullif(current_setting('app.client_id', true), '')::uuid)"
USER_SETTING = "(SELECT nullif(current_setting('app.user_id', true), '')::uuid)"
NO_CLIENT_CONTEXT = "(SELECT nullif(current_setting('app.client_id', true), '')) IS NULL"
TENANT_POLICY = "tenant_isolation"
OWNER_POLICY = "platform_owner"
TENANT_GRANTS = "SELECT, INSERT, UPDATE, DELETE"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def tenant_rls_sql(table: str, *, column: str = "client_account_id", grants: str = TENANT_GRANTS) -> tuple[list[str], list[str]]:
    """Forward and reverse SQL statements that put ``table`` under the tenant policy."""
    t = _q(table)
    predicate = f"{_q(column)} = {CLIENT_SETTING}"
    forward = [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {TENANT_POLICY} ON {t} AS PERMISSIVE FOR ALL TO {APPLICATION_ROLE} "
        f"USING ({predicate}) WITH CHECK ({predicate})",
        f"CREATE POLICY {OWNER_POLICY} ON {t} AS PERMISSIVE FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true)",
        f"GRANT {grants} ON {t} TO {APPLICATION_ROLE}",
    ]
    reverse = [
        f"REVOKE ALL ON {t} FROM {APPLICATION_ROLE}",
        f"DROP POLICY IF EXISTS {OWNER_POLICY} ON {t}",
        f"DROP POLICY IF EXISTS {TENANT_POLICY} ON {t}",
        f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY",
    ]
    return forward, reverse


class _SQLOperation(migrations.operations.base.Operation):
    reversible = True
    reduces_to_sql = True
    atomic = True

    def forward_sql(self) -> list[str]:
        raise NotImplementedError

    def reverse_sql(self) -> list[str]:
        raise NotImplementedError

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        for statement in self.forward_sql():
            schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        for statement in self.reverse_sql():
            schema_editor.execute(statement)


class EnableTenantRLS(_SQLOperation):
    """Put one multi-tenant table under row-level security (see the module docstring).

    ``column`` names the tenant key (``id`` for client_accounts itself).
    """

    def __init__(self, table: str, column: str = "client_account_id"):
        self.table = table
        self.column = column

    def deconstruct(self):
        kwargs = {"column": self.column} if self.column != "client_account_id" else {}
        return (self.__class__.__qualname__, [self.table], kwargs)

    def forward_sql(self):
        return tenant_rls_sql(self.table, column=self.column)[0]

    def reverse_sql(self):
        return tenant_rls_sql(self.table, column=self.column)[1]

    def describe(self):
        return f"Enable tenant row-level security on {self.table}"

    @property
    def migration_name_fragment(self):
        return f"rls_{self.table}"


class AllowOwnRowsWithoutTenant(_SQLOperation):
    """A SELECT policy letting a user read their own rows while no tenant is chosen.

    Used on membership tables so the middleware can resolve the tenant from the user;
    once a tenant context is set, only the tenant policy applies.
    """

    def __init__(self, table: str, condition: str = f"user_id = {USER_SETTING}"):
        self.table = table
        self.condition = condition

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.table], {"condition": self.condition})

    def forward_sql(self):
        return [
            f"CREATE POLICY own_rows_without_tenant ON {_q(self.table)} AS PERMISSIVE FOR SELECT TO {APPLICATION_ROLE} "
            f"USING ({NO_CLIENT_CONTEXT} AND {self.condition})"
        ]

    def reverse_sql(self):
        return [f"DROP POLICY IF EXISTS own_rows_without_tenant ON {_q(self.table)}"]

    def describe(self):
        return f"Let users read their own {self.table} rows before a tenant is chosen"


class GrantToApplicationRole(_SQLOperation):
    """Grant privileges on a non-tenant table (reference data, Django's own tables)."""

    def __init__(self, table: str, privileges: str = "SELECT"):
        self.table = table
        self.privileges = privileges

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.table], {"privileges": self.privileges})

    def forward_sql(self):
        return [f"GRANT {self.privileges} ON {_q(self.table)} TO {APPLICATION_ROLE}"]

    def reverse_sql(self):
        return [f"REVOKE ALL ON {_q(self.table)} FROM {APPLICATION_ROLE}"]

    def describe(self):
        return f"Grant {self.privileges} on {self.table} to {APPLICATION_ROLE}"


class CreateApplicationRole(_SQLOperation):
    """Create ``application_role`` (NOLOGIN, NOBYPASSRLS) if it does not exist yet.

    The role is cluster-wide and may pre-exist (provisioned by an operator, or by the
    embedded server), so the reverse leaves it in place.
    """

    def deconstruct(self):
        return (self.__class__.__qualname__, [], {})

    def forward_sql(self):
        return [
            "DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APPLICATION_ROLE}') THEN "
            f"CREATE ROLE {APPLICATION_ROLE} NOLOGIN NOBYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE; "
            "END IF; END $$",
            f"GRANT USAGE ON SCHEMA public TO {APPLICATION_ROLE}",
        ]

    def reverse_sql(self):
        return [f"REVOKE USAGE ON SCHEMA public FROM {APPLICATION_ROLE}"]

    def describe(self):
        return f"Create {APPLICATION_ROLE} if missing"


RESTRICTED_ROLE = "application_restricted_role"
ENGAGEMENTS_SETTING = "(SELECT nullif(current_setting('app.engagement_ids', true), ''))::uuid[]"
ROLE_SETTING = "(SELECT current_setting('app.role', true))"
ENGAGEMENT_POLICY = "engagement_access"
VIEWER_POLICIES = ("viewer_no_insert", "viewer_no_update", "viewer_no_delete")


def engagement_rls_sql(
    table: str, *, column: str = "engagement_id", nullable: bool = False, viewers_read_only: bool = True
) -> tuple[list[str], list[str]]:
    """Forward and reverse SQL of the role-based policies inside one client account.

    ``engagement_access`` is RESTRICTIVE and applies only to ``application_restricted_role``,
    which ``tenant_context`` assumes (``SET LOCAL ROLE``) for analysts and viewers. Client
    admins and engagement managers stay the login role and are bound by the tenant policy
    alone, so their queries plan exactly like tenant-only ones. For restricted users the
    predicate is ``engagement_id = ANY (<allowed>)`` (an InitPlan: evaluated once, usable as
    an index condition), plus ``OR engagement_id IS NULL`` on tables where the column is
    nullable (client-level rows stay visible to every member). No allowed engagement: no
    engagement row (fail closed).
    """
    t = _q(table)
    c = _q(column)
    predicate = f"({c} = ANY ({ENGAGEMENTS_SETTING}))"
    if nullable:
        predicate = f"({c} IS NULL OR {c} = ANY ({ENGAGEMENTS_SETTING}))"
    not_viewer = f"({ROLE_SETTING} IS DISTINCT FROM 'viewer')"
    forward = [
        f"CREATE POLICY {ENGAGEMENT_POLICY} ON {t} AS RESTRICTIVE FOR ALL TO {RESTRICTED_ROLE} USING {predicate} WITH CHECK {predicate}",
    ]
    reverse = [f"DROP POLICY IF EXISTS {ENGAGEMENT_POLICY} ON {t}"]
    if viewers_read_only:
        forward += [
            f"CREATE POLICY viewer_no_insert ON {t} AS RESTRICTIVE FOR INSERT TO {APPLICATION_ROLE} WITH CHECK {not_viewer}",
            f"CREATE POLICY viewer_no_update ON {t} AS RESTRICTIVE FOR UPDATE TO {APPLICATION_ROLE} USING {not_viewer} WITH CHECK {not_viewer}",
            f"CREATE POLICY viewer_no_delete ON {t} AS RESTRICTIVE FOR DELETE TO {APPLICATION_ROLE} USING {not_viewer}",
        ]
        reverse = [f"DROP POLICY IF EXISTS {name} ON {t}" for name in VIEWER_POLICIES] + reverse
    return forward, reverse


def column_is_nullable(connection, table: str, column: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT attnotnull FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s", [_q(table), column]
        )
        return cursor.fetchone()[0]


class CreateRestrictedRole(_SQLOperation):
    """Create ``application_restricted_role`` (member of application_role) and let the
    runtime login (settings.DATABASES["default"]["USER"]) assume it with SET ROLE, without
    inheriting it (policies bind a role's members only through inheritance).

    Idempotent; the reverse leaves the cluster-wide role in place.
    """

    def deconstruct(self):
        return (self.__class__.__qualname__, [], {})

    def forward_sql(self):
        from django.conf import settings

        runtime = settings.DATABASES["default"]["USER"].replace("'", "''")
        return [
            "DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{RESTRICTED_ROLE}') THEN "
            f"CREATE ROLE {RESTRICTED_ROLE} NOLOGIN NOBYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; "
            f"IF NOT pg_has_role('{RESTRICTED_ROLE}', '{APPLICATION_ROLE}', 'MEMBER') THEN GRANT {APPLICATION_ROLE} TO {RESTRICTED_ROLE}; END IF; "
            # INHERIT FALSE: the login does not carry the restricted role's policies
            # until it SETs the role; SET TRUE: it may.
            f"IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{runtime}') THEN "
            f"GRANT {RESTRICTED_ROLE} TO {_q(settings.DATABASES['default']['USER'])} WITH INHERIT FALSE, SET TRUE; END IF; "
            "END $$",
        ]

    def reverse_sql(self):
        return []

    def describe(self):
        return f"Create {RESTRICTED_ROLE} if missing"


class EnableEngagementRLS(_SQLOperation):
    """Role-based access inside a client account for one engagement-scoped table.

    ``column`` is the engagement key (``id`` for engagements itself); whether it is
    nullable is read from the catalog. With ``viewers_read_only`` (the default) the viewer
    role may read but not write. Apply after ``EnableTenantRLS`` on the same table.
    """

    def __init__(self, table: str, column: str = "engagement_id", viewers_read_only: bool = True):
        self.table = table
        self.column = column
        self.viewers_read_only = viewers_read_only

    def deconstruct(self):
        kwargs = {}
        if self.column != "engagement_id":
            kwargs["column"] = self.column
        if not self.viewers_read_only:
            kwargs["viewers_read_only"] = False
        return (self.__class__.__qualname__, [self.table], kwargs)

    def _sql(self, schema_editor):
        nullable = column_is_nullable(schema_editor.connection, self.table, self.column)
        return engagement_rls_sql(self.table, column=self.column, nullable=nullable, viewers_read_only=self.viewers_read_only)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        for statement in self._sql(schema_editor)[0]:
            schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        for statement in self._sql(schema_editor)[1]:
            schema_editor.execute(statement)

    def describe(self):
        return f"Enable engagement/role row-level security on {self.table}"
