from django.db import migrations

from tenancy.rls import EnableEngagementRLS


class Migration(migrations.Migration):
    dependencies = [("patterns", "0004_pattern_embedding_indexes"), ("tenancy", "0003_engagement_access")]

    operations = [EnableEngagementRLS("agent_discovered_patterns")]
