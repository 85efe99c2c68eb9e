from django.db import migrations

from tenancy.rls import EnableEngagementRLS


class Migration(migrations.Migration):
    dependencies = [("flows", "0002_row_level_security"), ("tenancy", "0003_engagement_access")]

    operations = [
        EnableEngagementRLS("crewai_flow_state_extensions"),
    ]
