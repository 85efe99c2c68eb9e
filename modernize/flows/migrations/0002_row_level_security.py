from django.db import migrations

from tenancy.rls import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [
        ("flows", "0001_initial"),
        ("tenancy", "0002_row_level_security"),
    ]

    operations = [
        EnableTenantRLS("crewai_flow_state_extensions"),
    ]
