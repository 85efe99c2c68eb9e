from rest_framework import serializers

from tenancy.models import Engagement, EngagementPriority, EngagementStatus


class EngagementOutput(serializers.ModelSerializer):
    class Meta:
        model = Engagement
        fields = ["id", "client_account_id", "name", "slug", "engagement_type", "status", "priority", "start_date", "target_completion_date", "is_active", "created_at"]


class EngagementInput(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    slug = serializers.SlugField(max_length=100)
    engagement_type = serializers.CharField(max_length=50, default="migration")
    status = serializers.ChoiceField(choices=EngagementStatus.choices, default=EngagementStatus.PLANNING)
    priority = serializers.ChoiceField(choices=EngagementPriority.choices, default=EngagementPriority.MEDIUM)
    start_date = serializers.DateField(required=False, allow_null=True)
    target_completion_date = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs):
        start, target = attrs.get("start_date"), attrs.get("target_completion_date")
        if start and target and target < start:
            raise serializers.ValidationError({"target_completion_date": "must not be before start_date."})
        return attrs


class MembershipOutput(serializers.Serializer):
    client_account_id = serializers.UUIDField()
    client_account_name = serializers.CharField()
    role = serializers.CharField()
    assigned_engagement_ids = serializers.ListField(child=serializers.UUIDField())
