from django.db import migrations

from tenancy.rls import EnableEngagementRLS


class Migration(migrations.Migration):
    dependencies = [("security", "0003_row_level_security"), ("tenancy", "0003_engagement_access")]

    # Audit rows are written on behalf of every role, viewers included: no viewer write ban.
    operations = [EnableEngagementRLS("security_audit_logs", viewers_read_only=False)]
