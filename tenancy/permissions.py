"""DRF permissions that mirror the database's role rules, for clear 403 messages.

The policies refuse the same writes anyway (see tenancy/rls.py); these make the API say
why instead of answering with a database error or a silent no-op.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenancy.models import ROLE_RANK, Role


def request_role(request) -> str | None:
    membership = getattr(request._request, "membership", None)
    return membership.role if membership else None


class ViewersReadOnly(BasePermission):
    message = "Viewers have read-only access: ask a client admin for the analyst role to make changes."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or request_role(request) != Role.VIEWER


class RoleAtLeast(BasePermission):
    """Unsafe methods need at least ``minimum_role`` in the selected client account."""

    minimum_role = Role.ENGAGEMENT_MANAGER

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        role = request_role(request)
        return role is not None and ROLE_RANK[role] >= ROLE_RANK[self.minimum_role]

    @property
    def message(self):
        return f"This change needs the {self.minimum_role} role or higher in the selected client account."


class ManagersWrite(RoleAtLeast):
    minimum_role = Role.ENGAGEMENT_MANAGER
