"""Reads about who may be where."""

from __future__ import annotations

from dataclasses import dataclass

from tenancy.context import session_user_context
from tenancy.models import ClientMembership, EngagementAssignment, Role


@dataclass(frozen=True)
class MembershipView:
    client_account_id: str
    client_account_name: str
    role: str
    assigned_engagement_ids: tuple[str, ...]

    @property
    def sees_every_engagement(self) -> bool:
        return self.role in (Role.CLIENT_ADMIN, Role.ENGAGEMENT_MANAGER)


def memberships_for_user(user) -> list[MembershipView]:
    """The user's active memberships with their engagement assignments, oldest first.

    Runs with only ``app.user_id`` set, which the membership policies allow; no other
    tenant row is visible meanwhile.
    """
    with session_user_context(user.pk):
        memberships = list(
            ClientMembership.objects.filter(user_id=user.pk, is_active=True, client_account__is_active=True)
            .select_related("client_account")
            .order_by("created_at")
        )
        assignments: dict[str, list[str]] = {}
        for client_id, engagement_id in EngagementAssignment.objects.filter(user_id=user.pk).values_list(
            "client_account_id", "engagement_id"
        ):
            assignments.setdefault(str(client_id), []).append(str(engagement_id))
    return [
        MembershipView(
            client_account_id=str(m.client_account_id),
            client_account_name=m.client_account.name,
            role=m.role,
            assigned_engagement_ids=tuple(sorted(assignments.get(str(m.client_account_id), []))),
        )
        for m in memberships
    ]


def rls_status_rows() -> list[dict]:
    """One row per table of the public schema: tenant or not, RLS flags, policies, covered.

    A tenant table is covered when RLS is enabled and forced, a ``tenant_isolation``
    policy for application_role applies to ALL commands and, for engagement-scoped
    tables, the restrictive ``engagement_access`` policy exists. Read from the catalog through
    the owner connection.
    """
    from django.db import connections

    from tenancy.checks import engagement_tables, tenant_tables
    from tenancy.rls import APPLICATION_ROLE, ENGAGEMENT_POLICY, RESTRICTED_ROLE, TENANT_POLICY

    tenant = tenant_tables()
    engagement_scoped = engagement_tables()
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   coalesce(json_agg(json_build_object('name', p.polname, 'command',
                       CASE p.polcmd WHEN '*' THEN 'ALL' WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                                     WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' END,
                       'permissive', p.polpermissive,
                       'roles', (SELECT coalesce(array_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END ORDER BY 1), '{}')
                                   FROM unnest(p.polroles) AS r),
                       'using', pg_get_expr(p.polqual, p.polrelid),
                       'with_check', pg_get_expr(p.polwithcheck, p.polrelid)) ORDER BY p.polname)
                     FILTER (WHERE p.polname IS NOT NULL), '[]')
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
              LEFT JOIN pg_policy p ON p.polrelid = c.oid
             WHERE c.relkind IN ('r', 'p')
             GROUP BY c.relname, c.relrowsecurity, c.relforcerowsecurity
             ORDER BY c.relname
            """
        )
        rows = []
        for table, enabled, forced, policies in cursor.fetchall():
            is_tenant = table in tenant
            has_tenant_policy = any(
                p["name"] == TENANT_POLICY and p["command"] == "ALL" and APPLICATION_ROLE in p["roles"]
                and p["using"] and p["with_check"]
                for p in policies
            )
            needs_engagement_policy = table in engagement_scoped
            has_engagement_policy = any(
                p["name"] == ENGAGEMENT_POLICY and not p["permissive"] and RESTRICTED_ROLE in p["roles"] for p in policies
            )
            rows.append(
                {
                    "table": table,
                    "tenant_table": is_tenant,
                    "engagement_scoped": needs_engagement_policy,
                    "model": tenant.get(table),
                    "rls_enabled": enabled,
                    "rls_forced": forced,
                    "policies": policies,
                    "covered": (
                        bool(enabled and forced and has_tenant_policy and (has_engagement_policy or not needs_engagement_policy))
                        if is_tenant
                        else None
                    ),
                }
            )
    return rows
