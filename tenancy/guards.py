"""Start-up guard: the runtime connection must be a role that RLS actually binds."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from tenancy.context import RUNTIME_ALIAS


def runtime_role_problem(alias: str = RUNTIME_ALIAS) -> str | None:
    """One sentence saying why the role of ``alias`` would bypass RLS, or None if it is safe.

    Unsafe: superuser, BYPASSRLS, owner of any table that has row-level security, or a
    member of such an owner (it could SET ROLE to it).
    """
    with connections[alias].cursor() as cursor:
        cursor.execute(
            """
            SELECT r.rolname, r.rolsuper, r.rolbypassrls,
                   (SELECT string_agg(c.relname, ', ' ORDER BY c.relname)
                      FROM pg_class c
                     WHERE c.relrowsecurity AND c.relkind IN ('r', 'p')
                       AND pg_has_role(r.oid, c.relowner, 'USAGE'))
              FROM pg_roles r WHERE r.rolname = current_user
            """
        )
        name, is_super, bypass, owned = cursor.fetchone()
    if is_super:
        return f"The runtime database role {name} is a superuser, which bypasses row-level security: set DATABASE_RUNTIME_URL to the application login role (see docs/operations.md)."
    if bypass:
        return f"The runtime database role {name} has BYPASSRLS: set DATABASE_RUNTIME_URL to a role without it (see docs/operations.md)."
    if owned:
        return f"The runtime database role {name} owns (or can become the owner of) tenant tables ({owned[:200]}), so it is not bound by their policies: use a role that owns nothing."
    return None


def vector_extension_problem(alias: str = RUNTIME_ALIAS) -> str | None:
    """One sentence saying how to get pgvector when the database lacks it, or None."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector'),"
            " EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')"
        )
        installed, available = cursor.fetchone()
    if installed:
        return None
    if available:
        return "The vector extension is not installed in this database: run `CREATE EXTENSION vector;` as a superuser (or a role allowed to), then `manage.py migrate`."
    return "PostgreSQL has no pgvector: install it on the database server (e.g. `apt-get install postgresql-<version>-pgvector`, or a managed service's vector option), then run `CREATE EXTENSION vector;`."


def ensure_runtime_role_is_safe() -> None:
    """Raise ImproperlyConfigured (one sentence) when the runtime role would bypass RLS
    or the database lacks pgvector."""
    problem = vector_extension_problem() or runtime_role_problem()
    connections[RUNTIME_ALIAS].close()
    if problem:
        raise ImproperlyConfigured(problem)
