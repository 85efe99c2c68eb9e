from django.db import migrations

from tenancy.rls import EnableTenantRLS, GrantToApplicationRole


class Migration(migrations.Migration):
    dependencies = [
        ("platforms", "0001_initial"),
        ("tenancy", "0002_row_level_security"),
    ]

    operations = [
        EnableTenantRLS("platform_credentials"),
        EnableTenantRLS("credential_access_logs"),
        EnableTenantRLS("credential_rotation_history"),
        EnableTenantRLS("credential_permissions"),
        # The registry is platform reference data: the runtime reads it, only the owner writes.
        GrantToApplicationRole("platform_adapters", "SELECT"),
    ]
