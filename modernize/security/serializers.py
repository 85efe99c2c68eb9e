from rest_framework import serializers

from modernize.security.models import ApprovalStatus, RoleChangeApproval
from tenancy.models import Role


class RoleChangeOutput(serializers.ModelSerializer):
    class Meta:
        model = RoleChangeApproval
        fields = [
            "id", "client_account_id", "requested_by_id", "target_user_id", "current_role", "requested_role",
            "justification", "status", "approved_by_id", "notes", "requested_at", "approved_at", "expires_at",
        ]


class RoleChangeRequestInput(serializers.Serializer):
    target_user_id = serializers.UUIDField()
    requested_role = serializers.ChoiceField(choices=Role.choices)
    justification = serializers.CharField(max_length=2000)


class RoleChangeDecisionInput(serializers.Serializer):
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RoleChangeListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=ApprovalStatus.choices, required=False)
