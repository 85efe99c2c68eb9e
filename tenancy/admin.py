"""Admin of the tenancy models (plain ModelAdmins; the tenant-aware admin comes later)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from tenancy.models import ApiToken, ClientAccount, ClientMembership, Engagement, EngagementAssignment, User


@admin.register(ClientAccount)
class ClientAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "industry", "company_size", "subscription_tier", "is_active", "created_at")
    list_filter = ("is_active", "subscription_tier", "company_size", "industry")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("id", "created_at", "updated_at")


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):
    list_display = ("name", "client_account", "status", "priority", "engagement_lead", "start_date", "target_completion_date", "is_active")
    list_filter = ("status", "priority", "is_active", "engagement_type")
    search_fields = ("name", "slug", "client_account__name")
    list_select_related = ("client_account", "engagement_lead")
    raw_id_fields = ("client_account", "engagement_lead")
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


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's UserAdmin with the email as the login and the global platform-admin flag."""

    form = UserEditForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_platform_admin", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_platform_admin", "is_active", "last_login")
    list_filter = ("is_staff", "is_platform_admin", "is_superuser", "is_active", "groups")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")


@admin.register(ClientMembership)
class ClientMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "client_account", "role", "is_active", "created_at")
    list_filter = ("role", "is_active")
    search_fields = ("user__email", "client_account__name")
    list_select_related = ("user", "client_account")
    raw_id_fields = ("user", "client_account")
    readonly_fields = ("id", "created_at", "updated_at")


@admin.register(EngagementAssignment)
class EngagementAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "engagement", "client_account", "created_at")
    search_fields = ("user__email", "engagement__name", "client_account__name")
    list_select_related = ("user", "engagement", "client_account")
    raw_id_fields = ("user", "engagement", "client_account")
    readonly_fields = ("id", "created_at", "updated_at")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: tokens are issued and revoked through the API; the digest is never shown."""

    list_display = ("key_prefix", "user", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("user__email", "key_prefix")
    list_select_related = ("user",)
    fields = ("key_prefix", "user", "created_at", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
