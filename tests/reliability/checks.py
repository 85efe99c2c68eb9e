"""Read back, through the owner, what a load run was told had been written."""

from __future__ import annotations

from django.db import connections


def lost_writes(result) -> dict:
    """Acknowledged creates missing (or in another tenant) and acknowledged updates not in the database."""
    created_ids = list(result.created)
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT id::text, client_account_id::text, task_id FROM agent_discovered_patterns WHERE id = ANY(%s::uuid[])",
            [created_ids],
        )
        found = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    missing = [pk for pk, (tenant, _) in result.created.items() if found.get(pk, (None,))[0] != tenant]
    stale = [
        pk
        for pk, task_id in result.last_update.items()
        if found.get(pk, (None, None))[1] not in (task_id, *result.unacknowledged_updates.get(pk, []))
    ]
    return {"creates_missing": missing, "updates_lost": stale}


def create_audit_consistency(result) -> dict:
    """Per attempted create (by pattern_id): pattern and audit row both there, neither, or only one."""
    attempted = list(result.create_attempts)
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT pattern_id, id::text FROM agent_discovered_patterns WHERE pattern_id = ANY(%s)", [attempted])
        patterns = dict(cursor.fetchall())
        cursor.execute(
            "SELECT details->>'pattern_id', count(*) FROM security_audit_logs WHERE event_type = 'pattern_created' "
            "AND details->>'pattern_id' = ANY(%s) GROUP BY 1",
            [attempted],
        )
        audits = dict(cursor.fetchall())
    both = [p for p in attempted if p in patterns and audits.get(p) == 1]
    neither = [p for p in attempted if p not in patterns and p not in audits]
    partial = [p for p in attempted if p not in both and p not in neither]
    return {"attempted": len(attempted), "both": len(both), "neither": len(neither), "partial": partial}
