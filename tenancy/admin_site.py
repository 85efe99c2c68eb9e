"""The tenant-aware Django admin: the site, its tenant switcher and the base ModelAdmin.

Who sees which rows is decided where the API decides it. The tenant middleware runs an
admin request of client staff inside the selected client account (RLS), and one of a
platform admin inside platform_context, recorded as admin access. On top of that:

* ``ModernizeAdminSite`` admits staff with a membership or the platform-admin role, shows
  the client account in context in the header, and switches it with a CSRF-protected POST
  that accepts only one of the user's own memberships;
* ``TenantAwareAdmin``, the base of every ModelAdmin, grants permissions from the role in
  the selected client account (not from Django permission rows), pins client-account
  fields to the tenant, offers only the tenant's members as users, and answers 404 for an
  object the context does not show (never a redirect that would echo its id).
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import Resolver404, path, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from tenancy.context import current_platform
from tenancy.middleware import SESSION_TENANT_KEY
from tenancy.models import ROLE_RANK, Role, User

ROLE_LABELS = dict(Role.choices)


def admin_role(request) -> str | None:
    """The role the admin grants to this request, or None.

    ``platform_admin`` for a platform admin inside platform_context (the middleware puts
    their admin requests there); otherwise the role of the membership the middleware chose.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_platform_admin and current_platform() is not None:
        return Role.PLATFORM_ADMIN
    membership = getattr(request, "membership", None)
    return membership.role if membership is not None else None


def role_reaches(request, minimum: str | None) -> bool:
    """Whether the request's role ranks at least ``minimum`` (None: nobody)."""
    role = admin_role(request)
    return minimum is not None and role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


def is_platform_request(request) -> bool:
    return admin_role(request) == Role.PLATFORM_ADMIN


def object_not_found(request, admin_site, opts) -> TemplateResponse:
    """The 404 page for an object id this context does not show (absent, or another tenant's)."""
    context = {**admin_site.each_context(request), "opts": opts, "title": f"{opts.verbose_name.capitalize()} not found"}
    return TemplateResponse(request, "admin/object_not_found.html", context, status=404)


class ModernizeAdminSite(admin.AdminSite):
    site_header = "Modernize administration"
    site_title = "Modernize admin"
    index_title = "Data platform"

    def has_permission(self, request):
        user = request.user
        return user.is_active and user.is_staff and admin_role(request) is not None

    def each_context(self, request):
        context = super().each_context(request)
        membership = getattr(request, "membership", None)
        context.update(
            platform_context_active=is_platform_request(request),
            tenant_membership=membership,
            tenant_role_label=ROLE_LABELS.get(membership.role, "") if membership else "",
            tenant_choices=[
                {"id": m.client_account_id, "name": m.client_account_name, "role": ROLE_LABELS.get(m.role, m.role)}
                for m in getattr(request, "memberships", None) or []
            ],
        )
        return context

    def get_urls(self):
        return [path("tenant/switch/", self.admin_view(self.tenant_switch), name="tenant_switch"), *super().get_urls()]

    def tenant_switch(self, request):
        """Select another of the user's client accounts for the following admin requests.

        POST ``client_account_id`` (one of request.memberships) and ``next``; stores the
        choice in the session (the middleware reads it) and redirects back, to the list
        when ``next`` was an object of the old tenant. Any other account: 403, recorded as
        a security violation.
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        requested = request.POST.get("client_account_id", "").strip()
        try:
            requested_id = str(uuid.UUID(requested))
        except ValueError:
            requested_id = None
        chosen = next((m for m in getattr(request, "memberships", None) or [] if m.client_account_id == requested_id), None)
        if chosen is None:
            from modernize.security.services import security_violation_record

            security_violation_record(
                event_type="forged_tenant_switch",
                description="The admin tenant switch named a client account the user is not a member of.",
                request=request,
                actor_user_id=request.user.pk,
                details={"requested_client_account_id": requested[:64]},
            )
            raise PermissionDenied("You can only switch to a client account you are a member of.")
        request.session[SESSION_TENANT_KEY] = chosen.client_account_id
        messages.success(request, f"You are now working in {chosen.client_account_name} as {ROLE_LABELS.get(chosen.role, chosen.role)}.")
        return HttpResponseRedirect(self._return_url(request, request.POST.get("next", "")))

    def _return_url(self, request, target: str) -> str:
        index = reverse("admin:index", current_app=self.name)
        safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
        target_path = urlsplit(target).path if safe else ""
        if not target_path.startswith(index):
            return index
        try:
            match = resolve(target_path)
        except Resolver404:
            return index
        model_admin = getattr(match.func, "model_admin", None)
        if model_admin is not None and ({"object_id", "id"} & set(match.kwargs)):
            # The object belongs to the tenant just left: its page would now be a 404.
            return reverse(f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_changelist", current_app=self.name)
        return target

    def password_change(self, request, extra_context=None):
        # users is a global table: the runtime role of client staff may not write it.
        if not is_platform_request(request):
            raise PermissionDenied("Passwords are changed by a platform admin.")
        return super().password_change(request, extra_context)


class TenantAwareAdmin(admin.ModelAdmin):
    """Base ModelAdmin: role-based permissions inside the tenant in context.

    Each ``*_role`` is the lowest role that may do it (``Role.PLATFORM_ADMIN``: platform
    admins only; None: nobody, the rows are written by services). Rows are confined by
    RLS, not here; these rules decide what the admin offers.
    """

    view_role: str | None = Role.VIEWER
    add_role: str | None = Role.ENGAGEMENT_MANAGER
    change_role: str | None = Role.ENGAGEMENT_MANAGER
    delete_role: str | None = Role.ENGAGEMENT_MANAGER
    # Foreign keys to users: autocomplete over all users for platform admins, a choice
    # among the tenant's active members for client staff (users span client accounts).
    user_fields: tuple[str, ...] = ()

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        if not self.show_full_result_count:
            # Where counting the table is too expensive, so is a count per filter choice.
            self.show_facets = admin.ShowFacets.NEVER

    def has_view_permission(self, request, obj=None):
        return role_reaches(request, self.view_role) or self.has_change_permission(request, obj)

    def has_add_permission(self, request):
        return role_reaches(request, self.add_role)

    def has_change_permission(self, request, obj=None):
        return role_reaches(request, self.change_role)

    def has_delete_permission(self, request, obj=None):
        return role_reaches(request, self.delete_role)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def _has_client_account(self) -> bool:
        return any(f.name == "client_account" for f in self.opts.concrete_fields)

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        if is_platform_request(request):
            return columns
        # Client staff work in one client account at a time: the column says nothing.
        return [c for c in columns if c != "client_account"]

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if is_platform_request(request) and self._has_client_account() and "client_account" not in filters:
            filters.insert(0, "client_account")
        return filters

    def get_autocomplete_fields(self, request):
        fields = list(super().get_autocomplete_fields(request))
        if is_platform_request(request):
            return fields + [f for f in self.user_fields if f not in fields]
        return [f for f in fields if f != "client_account"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        platform = is_platform_request(request)
        membership = getattr(request, "membership", None)
        if not platform and db_field.name in self.user_fields and membership is not None:
            kwargs["queryset"] = User.objects.filter(
                memberships__client_account_id=membership.client_account_id, memberships__is_active=True
            ).order_by("email")
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and not platform and db_field.name == "client_account":
            # The tenant in context; RLS would refuse any other anyway.
            field.disabled = True
            if membership is not None:
                field.initial = membership.client_account_id
        return field

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django's one hook for the change, delete and history views (and ours): its
        # redirect with a "doesn't exist" message would be an answer about the id.
        return object_not_found(request, self.admin_site, opts)


class ReadOnlyTenantAdmin(TenantAwareAdmin):
    """Rows written only by services (logs, roll-ups): shown, never edited here."""

    add_role = None
    change_role = None
    delete_role = None


class GlobalReferenceAdmin(TenantAwareAdmin):
    """Global reference data (no tenant): everyone reads it, platform admins edit it.

    Only the owner connection (platform_context) may write these tables at all.
    """

    add_role = Role.PLATFORM_ADMIN
    change_role = Role.PLATFORM_ADMIN
    delete_role = Role.PLATFORM_ADMIN


class PlatformOnlyAdmin(GlobalReferenceAdmin):
    """Global tables that span tenants (users, tokens): platform admins only."""

    view_role = Role.PLATFORM_ADMIN


__all__ = [
    "GlobalReferenceAdmin",
    "ModernizeAdminSite",
    "PlatformOnlyAdmin",
    "ReadOnlyTenantAdmin",
    "TenantAwareAdmin",
    "admin_role",
    "is_platform_request",
    "object_not_found",
    "role_reaches",
]
