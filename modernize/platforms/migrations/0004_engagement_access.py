from django.db import migrations

from tenancy.rls import EnableEngagementRLS


class Migration(migrations.Migration):
    dependencies = [("platforms", "0003_platform_adapter_registry"), ("tenancy", "0003_engagement_access")]

    operations = [
        EnableEngagementRLS("platform_credentials"),
        EnableEngagementRLS("credential_rotation_history"),
        EnableEngagementRLS("credential_permissions"),
        # Access is logged on behalf of every reader, viewers included.
        EnableEngagementRLS("credential_access_logs", viewers_read_only=False),
    ]
