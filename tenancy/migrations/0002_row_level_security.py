from django.db import migrations

from tenancy.rls import (
    USER_SETTING,
    AllowOwnRowsWithoutTenant,
    CreateApplicationRole,
    EnableTenantRLS,
    GrantToApplicationRole,
)


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0001_initial"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        CreateApplicationRole(),
        # Tenant tables of this app.
        EnableTenantRLS("client_accounts", column="id"),
        EnableTenantRLS("engagements"),
        EnableTenantRLS("client_memberships"),
        EnableTenantRLS("engagement_assignments"),
        # Before a tenant is chosen, a user reads their own memberships and accounts.
        AllowOwnRowsWithoutTenant("client_memberships"),
        AllowOwnRowsWithoutTenant("engagement_assignments"),
        AllowOwnRowsWithoutTenant(
            "client_accounts",
            condition=f"id IN (SELECT m.client_account_id FROM client_memberships m WHERE m.user_id = {USER_SETTING})",
        ),
        # Global tables the runtime needs: authentication and sessions, nothing more.
        GrantToApplicationRole("users", "SELECT, UPDATE (last_login)"),
        GrantToApplicationRole("users_groups", "SELECT"),
        GrantToApplicationRole("users_user_permissions", "SELECT"),
        GrantToApplicationRole("api_tokens", "SELECT, INSERT, UPDATE (last_used_at, revoked_at)"),
        GrantToApplicationRole("django_session", "SELECT, INSERT, UPDATE, DELETE"),
        GrantToApplicationRole("django_content_type", "SELECT"),
        GrantToApplicationRole("auth_permission", "SELECT"),
        GrantToApplicationRole("auth_group", "SELECT"),
        GrantToApplicationRole("auth_group_permissions", "SELECT"),
    ]
