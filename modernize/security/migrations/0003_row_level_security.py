from django.db import migrations

from tenancy.rls import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [
        ("security", "0002_initial"),
        ("tenancy", "0002_row_level_security"),
    ]

    operations = [
        EnableTenantRLS("security_audit_logs"),
        EnableTenantRLS("role_change_approvals"),
    ]
