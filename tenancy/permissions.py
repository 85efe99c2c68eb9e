"""DRF permissions that mirror the database's role rules, for clear 403 messages.

The policies refuse the same writes anyway (see tenancy/rls.py); these make the API say
why instead of answering with a database error or a silent no-op.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenancy.models import ROLE_RANK, Role


class InTenant(BasePermission):
    """The request runs in a client account (the middleware chose one)."""

    message = "Choose a client account (X-Client-Account-Id) you are a member of."
    code = "no_tenant"

    def has_permission(self, request, view):
        return getattr(request._request, "tenant", None) is not None


class HasRole(BasePermission):
    """Reads for every member; the view's ``write_role`` to create or change, its
    ``delete_role`` to delete (``read_only_post`` views take POST as a read)."""

    code = "role_forbidden"

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS or getattr(view, "read_only_post", False):
            return True
        needed = getattr(view, "delete_role", view.write_role) if request.method == "DELETE" else view.write_role
        self.message = f"Requires the {needed} role or higher."
        tenant = getattr(request._request, "tenant", None)
        role = (tenant.role if tenant else None) or ""
        return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


class ViewersReadOnly(BasePermission):
    """The project default for views that declare no role: viewers only read."""

    message = "Viewers have read-only access: ask a client admin for the analyst role to make changes."

    def has_permission(self, request, view):
        membership = getattr(request._request, "membership", None)
        return request.method in SAFE_METHODS or membership is None or membership.role != Role.VIEWER
