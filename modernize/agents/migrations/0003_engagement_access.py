from django.db import migrations

from tenancy.rls import EnableEngagementRLS


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_row_level_security"), ("tenancy", "0003_engagement_access")]

    operations = [
        EnableEngagementRLS("agent_task_history"),
        EnableEngagementRLS("agent_performance_daily"),
    ]
