from django.db import migrations

from tenancy.rls import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_initial"),
        ("tenancy", "0002_row_level_security"),
    ]

    operations = [
        EnableTenantRLS("agent_task_history"),
        EnableTenantRLS("agent_performance_daily"),
    ]
