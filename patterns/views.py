"""The patterns API: parse, call a service or selector, serialize.

The tenancy middleware has already entered the tenant context of the request, so every
query here runs under RLS for that client account; views never filter by tenant.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from patterns import selectors, services
from patterns.embedders import EmbeddingError
from patterns.models import AgentDiscoveredPattern
from patterns.serializers import (
    EvidenceInput,
    FeedbackInput,
    PatternCreateInput,
    PatternListQuery,
    PatternOutput,
    PatternSearchInput,
    PatternSimilarQuery,
    PatternUpdateInput,
    SearchOutput,
)
from tenancy.models import ClientAccount, Engagement, Role
from tenancy.permissions import HasRole, InTenant

FEATURE_FLAG = "pattern_search"


class PatternSearchEnabled(BasePermission):
    """The rollout switch: PATTERN_SEARCH_ENABLED globally, features_enabled per client account."""

    code = "pattern_search_disabled"

    def has_permission(self, request, view):
        if not settings.PATTERN_SEARCH_ENABLED:
            self.message = "Pattern search is turned off on this platform (PATTERN_SEARCH_ENABLED)."
            return False
        features = ClientAccount.objects.filter(pk=request._request.tenant.client_account_id).values_list("features_enabled", flat=True).first()
        if not (features or {}).get(FEATURE_FLAG, True):
            self.message = "Pattern search is turned off for this client account (features_enabled.pattern_search)."
            return False
        return True


class NotEmbedded(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_embedded"
    default_detail = "This pattern has no embedding yet; run backfill_pattern_embeddings."


class EmbeddingUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "embedding_unavailable"
    default_detail = "The embedding provider is unavailable; retry shortly."


class LenientJSONParser(JSONParser):
    # Accept NaN/Infinity tokens so the serializer can answer "vector: must be finite"
    # instead of a bare parse error.
    strict = False


class PatternCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class PatternAPIView(APIView):
    permission_classes = [IsAuthenticated, InTenant, HasRole]
    write_role = Role.ANALYST
    delete_role = Role.ENGAGEMENT_MANAGER

    def get_pattern(self, pattern_id) -> AgentDiscoveredPattern:
        try:
            return selectors.pattern_get(pattern_id=pattern_id)
        except AgentDiscoveredPattern.DoesNotExist:
            raise exceptions.NotFound("No such pattern.") from None


class SearchAPIView(PatternAPIView):
    permission_classes = PatternAPIView.permission_classes + [PatternSearchEnabled]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "pattern_search"
    read_only_post = True


def _search_response(found: selectors.SimilarPatterns, *, k: int, scope: str) -> Response:
    return Response(
        SearchOutput(
            {"results": found.matches, "count": len(found), "k": k, "scope": scope, "strategy": found.strategy}
        ).data
    )


def _search(run, **options) -> selectors.SimilarPatterns:
    try:
        return run(**options)
    except EmbeddingError as exc:
        raise EmbeddingUnavailable() from exc
    except selectors.PatternNotEmbedded:
        raise
    except ValueError as exc:
        # The serializers check the same rules first; this is the backstop.
        raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from exc


class PatternListView(PatternAPIView):
    pagination_class = PatternCursorPagination

    @extend_schema(parameters=[PatternListQuery], responses=PatternOutput(many=True), summary="List patterns")
    def get(self, request):
        query = PatternListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        patterns = selectors.patterns_list(
            insight_types=filters.get("insight_type"),
            pattern_types=filters.get("pattern_type"),
            engagement_id=filters.get("engagement"),
            min_confidence=filters.get("min_confidence"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(patterns, request, view=self)
        return paginator.get_paginated_response(PatternOutput(page, many=True).data)

    @extend_schema(
        request=PatternCreateInput,
        responses={201: PatternOutput, 200: OpenApiResponse(PatternOutput, description="Merged into an existing near-duplicate.")},
        summary="Record a pattern (near-duplicates become evidence)",
    )
    def post(self, request):
        data = PatternCreateInput(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        engagement = Engagement.objects.get(pk=fields.pop("engagement_id"))
        try:
            recorded = services.pattern_record(engagement=engagement, **fields)
        except EmbeddingError as exc:
            raise EmbeddingUnavailable() from exc
        return Response(PatternOutput(recorded.pattern).data, status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK)


class PatternDetailView(PatternAPIView):
    @extend_schema(responses=PatternOutput, summary="Get a pattern")
    def get(self, request, pattern_id):
        return Response(PatternOutput(self.get_pattern(pattern_id)).data)

    @extend_schema(request=PatternUpdateInput, responses=PatternOutput, summary="Change a pattern (re-embeds when its text changes)")
    def patch(self, request, pattern_id):
        pattern = self.get_pattern(pattern_id)
        data = PatternUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            updated = services.pattern_update(pattern=pattern, **data.validated_data)
        except EmbeddingError as exc:
            raise EmbeddingUnavailable() from exc
        return Response(PatternOutput(updated).data)

    @extend_schema(responses={204: None}, summary="Delete a pattern")
    def delete(self, request, pattern_id):
        services.pattern_delete(pattern=self.get_pattern(pattern_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PatternSearchView(SearchAPIView):
    parser_classes = [LenientJSONParser]

    @extend_schema(request=PatternSearchInput, responses=SearchOutput, summary="Similarity search (text, vector or pattern)")
    def post(self, request):
        data = PatternSearchInput(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        options = dict(data.validated_data)
        k = options.pop("k")
        common = {
            "k": k,
            "insight_types": options.get("insight_types"),
            "engagement_id": options.get("engagement_id"),
            "scope": options.get("scope"),
            "min_similarity": options.get("min_similarity"),
        }
        if "query" in options:
            found = _search(selectors.patterns_similar_to_text, text=options["query"], **common)
        elif "vector" in options:
            found = _search(selectors.patterns_similar_to_vector, vector=options["vector"], **common)
        else:
            try:
                pattern = selectors.pattern_get(pattern_id=options["pattern_id"])
            except AgentDiscoveredPattern.DoesNotExist:
                raise exceptions.ValidationError({"pattern_id": ["No such pattern."]}) from None
            if common["scope"] == selectors.SearchScope.ENGAGEMENT and common["engagement_id"] is None:
                common["engagement_id"] = pattern.engagement_id
            try:
                found = _search(selectors.patterns_similar_to_pattern, pattern=pattern, **common)
            except selectors.PatternNotEmbedded as exc:
                raise exceptions.ValidationError({"pattern_id": [str(exc)]}) from None
        scope = common["scope"] or (selectors.SearchScope.ENGAGEMENT if common["engagement_id"] else selectors.SearchScope.CLIENT)
        return _search_response(found, k=k, scope=scope)


class PatternSimilarView(SearchAPIView):
    @extend_schema(
        parameters=[PatternSimilarQuery, OpenApiParameter("pattern_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses=SearchOutput,
        summary="Patterns similar to this one",
    )
    def get(self, request, pattern_id):
        pattern = self.get_pattern(pattern_id)
        query = PatternSimilarQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = query.validated_data
        scope = options.get("scope") or selectors.SearchScope.CLIENT
        try:
            found = _search(
                selectors.patterns_similar_to_pattern,
                pattern=pattern,
                k=options["k"],
                insight_types=options.get("insight_types"),
                scope=scope,
                engagement_id=pattern.engagement_id if scope == selectors.SearchScope.ENGAGEMENT else None,
                min_similarity=options.get("min_similarity"),
            )
        except selectors.PatternNotEmbedded:
            raise NotEmbedded() from None
        return _search_response(found, k=options["k"], scope=scope)


class PatternFeedbackView(PatternAPIView):
    # Feedback changes the pattern's score: a write, which viewers may not make (their
    # role is read-only in the database policies too).
    write_role = Role.ANALYST

    @extend_schema(request=FeedbackInput, responses=PatternOutput, summary="Rate a pattern (updates its effectiveness score)")
    def post(self, request, pattern_id):
        data = FeedbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        pattern = services.pattern_feedback_record(pattern=self.get_pattern(pattern_id), user=request.user, **data.validated_data)
        return Response(PatternOutput(pattern).data)


class PatternEvidenceView(PatternAPIView):
    @extend_schema(request=EvidenceInput, responses=PatternOutput, summary="Add evidence to a pattern")
    def post(self, request, pattern_id):
        data = EvidenceInput(data=request.data)
        data.is_valid(raise_exception=True)
        pattern = services.pattern_evidence_add(pattern=self.get_pattern(pattern_id), **data.validated_data)
        return Response(PatternOutput(pattern).data)


class PatternReferenceView(PatternAPIView):
    @extend_schema(request=None, responses={204: None}, summary="Count one use of a pattern by an agent")
    def post(self, request, pattern_id):
        services.patterns_reference_record(pattern_ids=[self.get_pattern(pattern_id).pk])
        return Response(status=status.HTTP_204_NO_CONTENT)

