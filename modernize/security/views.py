"""Role change approvals over the API; the rules live in modernize/security/services.py."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from modernize.security import services
from modernize.security.models import RoleChangeApproval
from modernize.security.serializers import RoleChangeDecisionInput, RoleChangeListQuery, RoleChangeOutput, RoleChangeRequestInput
from tenancy.models import User
from tenancy.permissions import InTenant


class RoleChangeListCreateView(APIView):
    """Role change requests of the selected client account; any member may ask."""

    # Any member may ask; the rank rules are the service's.
    permission_classes = [IsAuthenticated, InTenant]

    @extend_schema(parameters=[RoleChangeListQuery], responses={200: inline_serializer("RoleChangeList", {"results": RoleChangeOutput(many=True)})})
    def get(self, request):
        query = RoleChangeListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        approvals = RoleChangeApproval.objects.order_by("-requested_at")
        if "status" in query.validated_data:
            approvals = approvals.filter(status=query.validated_data["status"])
        return Response({"results": RoleChangeOutput(approvals[:200], many=True).data})

    @extend_schema(request=RoleChangeRequestInput, responses={201: RoleChangeOutput})
    def post(self, request):
        data = RoleChangeRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        target = get_object_or_404(User, pk=data.validated_data["target_user_id"], is_active=True)
        approval = services.role_change_request(
            requested_by=request.user,
            target_user=target,
            client_account_id=request._request.tenant.client_account_id,
            requested_role=data.validated_data["requested_role"],
            justification=data.validated_data["justification"],
            request=request._request,
        )
        return Response(RoleChangeOutput(approval).data, status=status.HTTP_201_CREATED)


class RoleChangeDecisionView(APIView):
    """Approve or reject a pending request (rank rules and audit in the service)."""

    permission_classes = [IsAuthenticated, InTenant]
    decision = None  # "approve" | "reject"

    @extend_schema(request=RoleChangeDecisionInput, responses={200: RoleChangeOutput})
    def post(self, request, pk):
        data = RoleChangeDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        approval = get_object_or_404(RoleChangeApproval, pk=pk)
        decide = services.role_change_approve if self.decision == "approve" else services.role_change_reject
        approval = decide(approval=approval, approver=request.user, notes=data.validated_data["notes"], request=request._request)
        return Response(RoleChangeOutput(approval).data)
