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
