from django.db import migrations

from tenancy.rls import CreateRestrictedRole, EnableEngagementRLS


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0002_row_level_security")]

    operations = [
        CreateRestrictedRole(),
        EnableEngagementRLS("engagements", column="id"),
        # Assignments are written by admins and managers only (viewers read theirs).
        EnableEngagementRLS("engagement_assignments"),
    ]
