"""Enters the tenant context for every authenticated request.

Django runs middleware outside ATOMIC_REQUESTS, so the setting is made here, inside the
transaction that the view's queries (and the template rendering) run in: the whole
get_response() call is the body of tenant_context.

A platform admin's request to the Django admin runs in platform_context instead (every
tenant, through the owner connection), after an admin-access audit row is committed.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.http import JsonResponse
from django.urls import NoReverseMatch, reverse

from tenancy.authentication import token_from_header, token_user
from tenancy.context import OWNER_ALIAS, RUNTIME_ALIAS, platform_context, tenant_context
from tenancy.selectors import memberships_for_user

TENANT_HEADER = "HTTP_X_CLIENT_ACCOUNT_ID"
SESSION_TENANT_KEY = "tenancy_client_account_id"


def _forbidden(message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": "tenant_forbidden", "message": message, "fields": {"X-Client-Account-Id": [message]}}}, status=403)


class TenantContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.membership = None
        user = self._authenticated_user(request)
        if user is None:
            return self.get_response(request)

        if user.is_platform_admin and user.is_active and self._is_admin_path(request):
            return self._platform_admin_response(request, user)

        memberships = memberships_for_user(user)
        requested = request.META.get(TENANT_HEADER, "").strip()
        chosen = None
        if requested:
            try:
                requested = str(uuid.UUID(requested))
            except ValueError:
                return self._refuse(request, user, requested, "X-Client-Account-Id is not a valid UUID.")
            chosen = next((m for m in memberships if m.client_account_id == requested), None)
            if chosen is None:
                return self._refuse(request, user, requested, "X-Client-Account-Id names a client account you are not a member of.")
        elif memberships:
            selected = request.session.get(SESSION_TENANT_KEY) if hasattr(request, "session") else None
            chosen = next((m for m in memberships if m.client_account_id == selected), memberships[0])
        request.memberships = memberships
        if chosen is None:
            return self.get_response(request)

        request.membership = chosen
        with tenant_context(
            chosen.client_account_id,
            user=user,
            role=chosen.role,
            engagement_ids=None if chosen.sees_every_engagement else chosen.assigned_engagement_ids,
        ) as state:
            request.tenant = state
            response = self.get_response(request)
            if response.status_code >= 500:
                # The view's exception became a response inside get_response(): without
                # this, the tenant transaction would commit its partial writes.
                transaction.set_rollback(True, using=RUNTIME_ALIAS)
        return response

    @staticmethod
    def _is_admin_path(request) -> bool:
        try:
            return request.path_info.startswith(reverse("admin:index"))
        except NoReverseMatch:
            return False

    def _platform_admin_response(self, request, user):
        from modernize.security.services import admin_access_record

        # Outside every context this commits in its own transaction before the view runs,
        # so the access stays recorded even when the request fails and rolls back. It is
        # the audit row of this platform access; platform_context does not write a second.
        admin_access_record(request=request)
        request.memberships = []
        with platform_context(reason=f"admin {request.method} {request.path}", actor=user, audit=False):
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True, using=OWNER_ALIAS)
        return response

    def _authenticated_user(self, request):
        key = token_from_header(request)
        if key is not None:
            user = token_user(key)
            request.token_user = user
            if user is not None:
                request.user = user
                # Token requests are not cookie-authenticated: no CSRF exposure.
                request._dont_enforce_csrf_checks = True
            return user
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None

    def _refuse(self, request, user, requested: str, message: str):
        from modernize.security.services import security_violation_record

        security_violation_record(
            event_type="forged_tenant_header",
            description=message,
            request=request,
            actor_user_id=user.pk,
            details={"requested_client_account_id": requested[:64]},
        )
        return _forbidden(message)
