"""Admin of client accounts, engagements, users and memberships (tenant-aware, see tenancy.admin_site)."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from tenancy.admin_site import PlatformOnlyAdmin, TenantAwareAdmin, is_platform_request
from tenancy.models import ApiToken, ClientAccount, ClientMembership, Engagement, EngagementAssignment, Role, User


class TenantConsistentForm(forms.ModelForm):
    """Refuses a parent of another client account with a form error, before the database's
    composite foreign key would refuse it with an IntegrityError."""

    def clean(self):
        cleaned = super().clean()
        client = cleaned.get("client_account")
        client_id = client.pk if client is not None else getattr(self.instance, "client_account_id", None)
        for name, value in list(cleaned.items()):
            parent_client = getattr(value, "client_account_id", None)
            if name != "client_account" and client_id is not None and parent_client is not None and parent_client != client_id:
                self.add_error(name, "This belongs to another client account than the row.")
        return cleaned


class TenantDataAdmin(TenantAwareAdmin):
    """Tenant rows edited in the admin: forms check that parents share the row's tenant."""

    form = TenantConsistentForm


@admin.register(ClientAccount)
class ClientAccountAdmin(TenantAwareAdmin):
    """Client staff see their own account (RLS); a client admin edits its profile, not its plan."""

    add_role = Role.PLATFORM_ADMIN
    change_role = Role.CLIENT_ADMIN
    delete_role = Role.PLATFORM_ADMIN
    list_display = ("name", "slug", "industry", "company_size", "subscription_tier", "max_users", "max_engagements", "is_active", "created_at")
    list_filter = ("is_active", "subscription_tier", "company_size", "industry")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("id", "created_at", "updated_at")
    # What the platform sells and enforces; a client admin could otherwise raise their own limits.
    PLAN_FIELDS = ("slug", "subscription_tier", "max_users", "max_engagements", "features_enabled", "is_active")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if is_platform_request(request) else (*fields, *self.PLAN_FIELDS)

    def get_prepopulated_fields(self, request, obj=None):
        return super().get_prepopulated_fields(request, obj) if is_platform_request(request) else {}


@admin.register(Engagement)
class EngagementAdmin(TenantDataAdmin):
    delete_role = Role.CLIENT_ADMIN
    list_display = ("name", "client_account", "status", "priority", "engagement_lead", "start_date", "target_completion_date", "is_active")
    list_filter = ("status", "priority", "is_active", "engagement_type")
    search_fields = ("name", "slug", "client_account__name")
    list_select_related = ("client_account", "engagement_lead")
    autocomplete_fields = ("client_account",)
    user_fields = ("engagement_lead",)
    readonly_fields = ("id", "created_at", "updated_at")
    date_hierarchy = "start_date"


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self):
        # The database keeps emails lower-case (users_email_lowercase).
        return User.objects.normalize_email(self.cleaned_data["email"]).lower()


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self):
        return User.objects.normalize_email(self.cleaned_data["email"]).lower()


class MembershipInline(admin.TabularInline):
    model = ClientMembership
    fields = ("client_account", "role", "is_active", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("client_account")

    def has_view_permission(self, request, obj=None):
        return is_platform_request(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(PlatformOnlyAdmin, DjangoUserAdmin):
    """Users span client accounts (a global table): platform admins only.

    Client staff see the members of their account through the memberships.
    """

    form = UserEditForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_platform_admin", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_platform_admin", "memberships_count", "is_active", "last_login")
    list_filter = ("is_staff", "is_platform_admin", "is_superuser", "is_active")
    filter_horizontal = ()
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    inlines = (MembershipInline,)
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(active_memberships=Count("memberships", filter=Q(memberships__is_active=True)))

    @admin.display(description="client accounts", ordering="active_memberships")
    def memberships_count(self, user):
        return user.active_memberships


@admin.register(ClientMembership)
class ClientMembershipAdmin(TenantDataAdmin):
    """Roles change through role-change approvals (audited); platform admins may also set them here, recorded as role changes."""

    view_role = Role.ENGAGEMENT_MANAGER
    add_role = Role.PLATFORM_ADMIN
    change_role = Role.PLATFORM_ADMIN
    delete_role = Role.PLATFORM_ADMIN
    list_display = ("user", "client_account", "role", "is_active", "created_at")
    list_filter = ("role", "is_active")
    search_fields = ("user__email", "client_account__name")
    list_select_related = ("user", "client_account")
    autocomplete_fields = ("client_account",)
    user_fields = ("user",)
    readonly_fields = ("id", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        old_role = form.initial.get("role") if change else None
        super().save_model(request, obj, form, change)
        if not change or "role" in form.changed_data:
            from modernize.security.services import role_change_record

            role_change_record(
                actor_user_id=request.user.pk,
                target_user_id=obj.user_id,
                client_account_id=obj.client_account_id,
                old_role=old_role,
                new_role=obj.role,
                request=request,
            )


@admin.register(EngagementAssignment)
class EngagementAssignmentAdmin(TenantDataAdmin):
    list_display = ("user", "engagement", "client_account", "created_at")
    search_fields = ("user__email", "engagement__name")
    list_select_related = ("user", "engagement", "client_account")
    autocomplete_fields = ("client_account", "engagement")
    user_fields = ("user",)
    readonly_fields = ("id", "created_at", "updated_at")


@admin.register(ApiToken)
class ApiTokenAdmin(PlatformOnlyAdmin):
    """Read-only: tokens are issued and revoked through the API; the digest is never shown."""

    add_role = None
    change_role = None
    delete_role = None
    list_display = ("key_prefix", "user", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("user__email", "key_prefix")
    list_select_related = ("user",)
    fields = ("key_prefix", "user", "created_at", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = fields
    show_full_result_count = False
    date_hierarchy = "created_at"
