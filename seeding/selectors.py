"""Reads about seeded data: whether anything exists, and a digest of the seeded content."""

from __future__ import annotations

import hashlib

from django.db import connections

from modernize.agents.models import AgentPerformanceDaily, AgentTaskHistory
from modernize.llm.models import LLMUsageSummary
from modernize.platforms.models import PlatformCredential
from patterns.models import AgentDiscoveredPattern
from seeding.constants import PLATFORM_ADMIN_EMAIL
from tenancy.context import OWNER_ALIAS, platform_context, tenant_context
from tenancy.models import ClientAccount, Engagement, User

# Columns whose value is not a function of (seed, profile): the roll-up services' own ids
# and clocks, Fernet's random IV and timestamp, the user's last login.
DIGEST_EXCLUDED = {
    AgentPerformanceDaily: {"id", "created_at", "updated_at"},
    LLMUsageSummary: {"id", "created_at", "updated_at"},
    PlatformCredential: {"encrypted_secret"},
    User: {"last_login"},
}
DIGEST_ORDER = {
    AgentPerformanceDaily: ["client_account_id", "engagement_id", "agent_name", "date_recorded"],
    LLMUsageSummary: [
        "client_account_id", "engagement_id", "period_type", "period_start", "llm_provider", "model_name",
        "page_context", "feature_context", "currency",
    ],
}


def client_accounts_exist() -> bool:
    """Whether any client account exists (read through the owner: every tenant)."""
    with platform_context(reason="seed_comprehensive --if-empty: is the database empty?"):
        return ClientAccount.objects.exists()


def _tenant_models():
    from seeding.services import _tenant_models

    return _tenant_models()


def seeded_data_digest(*, client_account_ids: list, include_users: bool = True) -> str:
    """SHA-256 over every row of these client accounts (and their members), wall-clock columns excluded.

    Two databases seeded with the same seed and profile have the same digest. Tables are
    taken in a fixed order, rows by id (roll-ups by their natural key).
    """
    ids = [str(i) for i in client_account_ids]
    digest = hashlib.sha256()
    with platform_context(reason="seed_comprehensive: digest of the seeded tenants"):
        with connections[OWNER_ALIAS].cursor() as cursor:
            models = [*_tenant_models(), User] if include_users else _tenant_models()
            for model in sorted(models, key=lambda m: m._meta.db_table):
                columns = [f.column for f in model._meta.concrete_fields if f.column not in DIGEST_EXCLUDED.get(model, set())]
                order = ", ".join(f'"{c}"' for c in DIGEST_ORDER.get(model, ["id"]))
                row = "ROW(" + ", ".join(f'"{c}"' for c in columns) + ")::text"
                if model is User:
                    where = (
                        "id IN (SELECT user_id FROM client_memberships WHERE client_account_id = ANY(%s::uuid[])) OR email = %s"
                    )
                    params = [ids, PLATFORM_ADMIN_EMAIL]
                else:
                    where = f'"{"id" if model is ClientAccount else "client_account_id"}" = ANY(%s::uuid[])'
                    params = [ids]
                cursor.execute(
                    f'SELECT count(*), coalesce(md5(string_agg(md5({row}), \'\' ORDER BY {order})), \'\') '
                    f'FROM "{model._meta.db_table}" WHERE {where}',
                    params,
                )
                count, table_digest = cursor.fetchone()
                digest.update(f"{model._meta.db_table}:{count}:{table_digest}\n".encode())
    return digest.hexdigest()


def seeded_tenant_visibility(*, client_account_ids: list) -> dict[str, dict[str, int]]:
    """What each tenant sees of its own rows as the runtime role, inside its tenant_context (RLS applies).

    A check that committed seed data is usable by requests, not only by the owner.
    """
    visible = {}
    for client_account_id in client_account_ids:
        with tenant_context(client_account_id):
            visible[str(client_account_id)] = {
                "engagements": Engagement.objects.count(),
                "agent_task_history": AgentTaskHistory.objects.count(),
                "agent_discovered_patterns": AgentDiscoveredPattern.objects.count(),
            }
    return visible
