from django.db import migrations

from tenancy.rls import EnableTenantRLS, GrantToApplicationRole


class Migration(migrations.Migration):
    dependencies = [
        ("llm", "0003_model_pricing_data"),
        ("tenancy", "0002_row_level_security"),
    ]

    operations = [
        EnableTenantRLS("llm_usage_logs"),
        EnableTenantRLS("llm_usage_summary"),
        # Reference data: the runtime prices calls with it but never changes it.
        GrantToApplicationRole("llm_model_pricing", "SELECT"),
    ]
