from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from modernize.api import error_body
from modernize.security.models import SecurityAuditLog
from modernize.security.services import security_event_record
from tenancy.authentication import token_from_header

from tenancy.models import Engagement, Role
from tenancy.permissions import HasRole, InTenant
from tenancy.serializers import EngagementInput, EngagementOutput, MembershipOutput
from tenancy.services import api_token_create, api_token_revoke, engagement_create


class TokenCreateInput(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, max_length=256)


class TokenCreateView(APIView):
    """Exchange email and password for an API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    def throttled(self, request, wait):
        # Refused before the view runs, so before the login_failed record: audit it here.
        security_event_record(
            event_type="login_throttled",
            event_category=SecurityAuditLog.Category.AUTHENTICATION,
            severity=SecurityAuditLog.Severity.WARNING,
            description="API login refused: too many attempts from this client.",
            request=request._request,
            details={"retry_after_seconds": None if wait is None else round(wait)},
            is_blocked=True,
        )
        super().throttled(request, wait)

    @extend_schema(request=TokenCreateInput, responses={201: inline_serializer("TokenOutput", {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()})})
    def post(self, request):
        data = TokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"].lower()
        user = authenticate(request._request, email=email, password=data.validated_data["password"])
        if user is None:
            security_event_record(
                event_type="login_failed",
                event_category=SecurityAuditLog.Category.AUTHENTICATION,
                severity=SecurityAuditLog.Severity.WARNING,
                description="Failed API login.",
                request=request._request,
                details={"email_domain": email.rsplit("@", 1)[-1]},
            )
            return Response(error_body("invalid_credentials", "Email or password is wrong."), status=status.HTTP_401_UNAUTHORIZED)
        key, token = api_token_create(user=user)
        return Response({"token": key, "expires_at": token.expires_at}, status=status.HTTP_201_CREATED)


class TokenRevokeView(APIView):
    """Revoke the token used to authenticate this request."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        key = token_from_header(request._request)
        if key is None:
            return Response(error_body("no_token", "Authenticate with the token to revoke."), status=status.HTTP_400_BAD_REQUEST)
        api_token_revoke(key=key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """Who the caller is and which client accounts they may select."""

    @extend_schema(responses={200: inline_serializer("Me", {"id": serializers.UUIDField(), "email": serializers.EmailField(), "is_platform_admin": serializers.BooleanField(), "client_account_id": serializers.UUIDField(allow_null=True), "memberships": MembershipOutput(many=True)})})
    def get(self, request):
        tenant = getattr(request._request, "tenant", None)
        memberships = getattr(request._request, "memberships", [])
        return Response(
            {
                "id": request.user.pk,
                "email": request.user.email,
                "is_platform_admin": request.user.is_platform_admin,
                "client_account_id": tenant.client_account_id if tenant else None,
                "memberships": MembershipOutput(memberships, many=True).data,
            }
        )


class EngagementListCreateView(APIView):
    """The engagements of the client account in context (analysts and viewers: assigned ones)."""

    permission_classes = [IsAuthenticated, InTenant, HasRole]
    write_role = Role.ENGAGEMENT_MANAGER

    @extend_schema(responses={200: inline_serializer("EngagementList", {"results": EngagementOutput(many=True)})})
    def get(self, request):
        engagements = Engagement.objects.order_by("name")
        return Response({"results": EngagementOutput(engagements, many=True).data})

    @extend_schema(request=EngagementInput, responses={201: EngagementOutput})
    def post(self, request):
        data = EngagementInput(data=request.data)
        data.is_valid(raise_exception=True)
        engagement = engagement_create(client_account_id=request._request.tenant.client_account_id, **data.validated_data)
        return Response(EngagementOutput(engagement).data, status=status.HTTP_201_CREATED)
