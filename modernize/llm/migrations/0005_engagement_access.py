from django.db import migrations

from tenancy.rls import EnableEngagementRLS


class Migration(migrations.Migration):
    dependencies = [("llm", "0004_row_level_security"), ("tenancy", "0003_engagement_access")]

    operations = [
        # Usage is logged for every caller, viewers included.
        EnableEngagementRLS("llm_usage_logs", viewers_read_only=False),
        EnableEngagementRLS("llm_usage_summary"),
    ]
