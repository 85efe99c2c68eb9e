"""Input and output shapes of the patterns API.

Inputs validate everything the database or the search would otherwise reject, so a bad
request is a 400 naming the field and nothing is written.
"""

from __future__ import annotations

import math
import re

import numpy as np
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from patterns.models import EMBEDDING_DIMENSIONS, AgentDiscoveredPattern, InsightType, PatternType
from patterns.selectors import FLOAT4_MAX, MAX_K, SearchScope


class FiniteFloatField(serializers.FloatField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            raise serializers.ValidationError("Must be a finite number (no NaN or infinity).", code="not_finite")
        return value


# What jsonb cannot store: NUL, and lone UTF-16 surrogates (they have no UTF-8 form).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(value) -> bool:
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


class JSONObjectField(serializers.DictField):
    """A JSON object that jsonb can store: no NUL character and no lone surrogate in any key or string."""

    default_error_messages = {"unstorable": "Keys and strings cannot contain the NUL character (\\u0000) or lone surrogates."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if _unstorable(value):
            self.fail("unstorable")
        return value


def _visible_engagement(request, engagement_id):
    """The engagement id if the user may work in it; raises ValidationError otherwise."""
    from tenancy.models import Engagement

    allowed = request.tenant.engagement_ids
    # RLS hides other clients' engagements; role-limited users see only their assignments.
    if (allowed is not None and str(engagement_id) not in allowed) or not Engagement.objects.filter(pk=engagement_id).exists():
        raise serializers.ValidationError("No such engagement in this client account.", code="unknown_engagement")
    return engagement_id


@extend_schema_field(
    {"type": "array", "items": {"type": "number", "format": "float"}, "minItems": EMBEDDING_DIMENSIONS, "maxItems": EMBEDDING_DIMENSIONS}
)
class VectorInputField(serializers.Field):
    """A list of exactly 1536 finite numbers (checked in one pass, not 1536 child fields)."""

    default_error_messages = {
        "not_a_list": "Expected a list of numbers.",
        "length": f"Expected {EMBEDDING_DIMENSIONS} numbers, got {{length}}.",
        "not_numbers": "Every value must be a number.",
        "not_finite": "Every value must be finite (no NaN or infinity) and fit a float4.",
        "zero": "The vector cannot be all zeros (values below about 1e-45 are zero as float4).",
    }

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list")
        if len(data) != EMBEDDING_DIMENSIONS:
            self.fail("length", length=len(data))
        # map(type) runs in C; bools (a subclass of int) and strings are refused.
        if not set(map(type, data)) <= {int, float}:
            self.fail("not_numbers")
        values = np.asarray(data, dtype=np.float64)
        if not np.isfinite(values).all() or np.abs(values).max() > FLOAT4_MAX:
            self.fail("not_finite")
        # As float4, what pgvector compares: values below ~1.4e-45 are zeros there.
        if not values.astype(np.float32).any():
            self.fail("zero")
        return values

    def to_representation(self, value):
        return list(value)


class PatternOutput(serializers.ModelSerializer):
    engagement_id = serializers.UUIDField(read_only=True)
    has_embedding = serializers.SerializerMethodField()

    def get_has_embedding(self, pattern) -> bool:
        # The embedding_model_named constraint makes this exact without loading the vector.
        return bool(pattern.embedding_model)

    class Meta:
        model = AgentDiscoveredPattern
        fields = [
            "id",
            "pattern_id",
            "engagement_id",
            "pattern_type",
            "insight_type",
            "pattern_name",
            "pattern_description",
            "discovered_by_agent",
            "task_id",
            "confidence_score",
            "evidence_count",
            "times_referenced",
            "pattern_effectiveness_score",
            "pattern_data",
            "execution_context",
            "last_used_at",
            "has_embedding",
            "embedding_model",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PatternCreateInput(serializers.Serializer):
    engagement_id = serializers.UUIDField()
    pattern_type = serializers.ChoiceField(choices=PatternType.choices)
    insight_type = serializers.ChoiceField(choices=InsightType.choices, required=False)
    pattern_id = serializers.CharField(max_length=255, required=False)
    pattern_name = serializers.CharField(max_length=255)
    pattern_description = serializers.CharField(allow_blank=True, required=False, default="")
    discovered_by_agent = serializers.CharField(max_length=255)
    task_id = serializers.CharField(max_length=255, allow_blank=True, required=False, default="")
    confidence_score = FiniteFloatField(min_value=0, max_value=1, required=False, default=0.5)
    pattern_data = JSONObjectField(required=False, default=dict)
    execution_context = JSONObjectField(required=False, default=dict)
    evidence = JSONObjectField(required=False, help_text="One piece of evidence for the finding.")

    def validate_engagement_id(self, value):
        return _visible_engagement(self.context["request"], value)


class PatternUpdateInput(serializers.Serializer):
    pattern_type = serializers.ChoiceField(choices=PatternType.choices, required=False)
    insight_type = serializers.ChoiceField(choices=InsightType.choices, required=False)
    pattern_name = serializers.CharField(max_length=255, required=False)
    pattern_description = serializers.CharField(allow_blank=True, required=False)
    discovered_by_agent = serializers.CharField(max_length=255, required=False)
    task_id = serializers.CharField(max_length=255, allow_blank=True, required=False)
    confidence_score = FiniteFloatField(min_value=0, max_value=1, required=False)
    execution_context = JSONObjectField(required=False)


class PatternListQuery(serializers.Serializer):
    insight_type = serializers.MultipleChoiceField(choices=InsightType.choices, required=False, help_text="Repeat to allow several.")
    pattern_type = serializers.MultipleChoiceField(choices=PatternType.choices, required=False, help_text="Repeat to allow several.")
    engagement = serializers.UUIDField(required=False)
    min_confidence = FiniteFloatField(min_value=0, max_value=1, required=False)


class _SearchOptions(serializers.Serializer):
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=10)
    insight_types = serializers.ListField(child=serializers.ChoiceField(choices=InsightType.choices), required=False, allow_empty=False)
    scope = serializers.ChoiceField(
        choices=SearchScope.choices,
        required=False,
        help_text="engagement: only engagement_id (the default when it is given); client: every engagement of the client.",
    )
    min_similarity = FiniteFloatField(min_value=-1, max_value=1, required=False)


class PatternSearchInput(_SearchOptions):
    query = serializers.CharField(required=False, max_length=8000, help_text="Text to embed and search with.")
    vector = VectorInputField(required=False, help_text=f"{EMBEDDING_DIMENSIONS} floats, compared by cosine.")
    pattern_id = serializers.UUIDField(required=False, help_text="Find patterns similar to this one (never itself).")
    engagement_id = serializers.UUIDField(required=False)

    KINDS = ("query", "vector", "pattern_id")

    def validate_engagement_id(self, value):
        return _visible_engagement(self.context["request"], value)

    def validate(self, attrs):
        given = [kind for kind in self.KINDS if kind in attrs]
        if len(given) != 1:
            message = "Give exactly one of query, vector or pattern_id."
            raise serializers.ValidationError({kind: [message] for kind in (given or ["query"])}, code="one_query_kind")
        scope = attrs.get("scope")
        if scope == SearchScope.CLIENT and "engagement_id" in attrs:
            raise serializers.ValidationError({"scope": ["engagement_id narrows the search to one engagement: use scope 'engagement'."]})
        if scope == SearchScope.ENGAGEMENT and "engagement_id" not in attrs and "pattern_id" not in attrs:
            raise serializers.ValidationError({"engagement_id": ["scope 'engagement' needs an engagement_id."]})
        return attrs


class PatternSimilarQuery(_SearchOptions):
    insight_types = serializers.MultipleChoiceField(choices=InsightType.choices, required=False, help_text="Repeat to allow several.")


class SearchResultOutput(serializers.Serializer):
    id = serializers.UUIDField(source="pattern.id")
    pattern_id = serializers.CharField(source="pattern.pattern_id")
    pattern_name = serializers.CharField(source="pattern.pattern_name")
    pattern_description = serializers.CharField(source="pattern.pattern_description")
    pattern_type = serializers.CharField(source="pattern.pattern_type")
    insight_type = serializers.CharField(source="pattern.insight_type")
    engagement_id = serializers.UUIDField(source="pattern.engagement_id")
    discovered_by_agent = serializers.CharField(source="pattern.discovered_by_agent")
    confidence_score = serializers.FloatField(source="pattern.confidence_score")
    evidence_count = serializers.IntegerField(source="pattern.evidence_count")
    times_referenced = serializers.IntegerField(source="pattern.times_referenced")
    pattern_effectiveness_score = serializers.FloatField(source="pattern.pattern_effectiveness_score", allow_null=True)
    created_at = serializers.DateTimeField(source="pattern.created_at")
    similarity = serializers.FloatField(help_text="1 - cosine distance; 1 is identical.")


class SearchOutput(serializers.Serializer):
    results = SearchResultOutput(many=True, help_text="Nearest first.")
    count = serializers.IntegerField()
    k = serializers.IntegerField()
    scope = serializers.CharField()
    strategy = serializers.CharField(help_text="exact, index, or exact_fallback (see docs/vector-search.md).")


class FeedbackInput(serializers.Serializer):
    helpful = serializers.BooleanField()
    comment = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)


class EvidenceInput(serializers.Serializer):
    evidence = JSONObjectField()
    confidence_score = FiniteFloatField(min_value=0, max_value=1, required=False)
