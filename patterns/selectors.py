"""Reads of discovered patterns, similarity search first.

Every search is confined to one client account: by row-level security (the tenant
context), and by an explicit ``client_account_id = …`` predicate as well, so the planner
sees the tenant's share of the rows. pgvector applies every filter (RLS included) after
the vector index scan, so a naive filtered ``ORDER BY embedding <=> q LIMIT k`` returns
fewer than k rows, or none, for a small tenant. The search therefore picks a strategy
from the size n of the candidate set (the rows that pass the filters) and the table's
size N:

* **exact** when n is small: the distance of every candidate (a scan of the candidate
  index), then the k smallest. Its cost is about a·n; an index search costs about
  c + b·N/n (a fixed part, plus the rows it walks past per match). Exact is chosen when
  n ≤ m + R·N/n with m = c/a = EXACT_SEARCH_MIN_ROWS and R = b/a =
  EXACT_SEARCH_COST_RATIO (both measured), i.e. n ≤ (m + sqrt(m² + 4·R·N)) / 2, and
  n ≤ EXACT_SEARCH_MAX_ROWS. n is counted only up to that bound, so counting a large
  tenant costs no more than counting a small one;
* **index** otherwise: the HNSW (or IVFFlat) index with pgvector 0.8 iterative scans
  (``hnsw.iterative_scan``, ``hnsw.ef_search``, ``hnsw.max_scan_tuples``), set
  transaction-locally by the counting statement itself; should it still return fewer
  than min(k, n) rows, the exact search answers instead.

So every answer holds min(k, matching rows) patterns, in two statements (three for the
index: enable_sort is restored after it). The measurements behind the defaults are in
docs/vector-search.md and bench/vector_search/.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.db import connections, router
from django.db.models import QuerySet, Value
from pgvector.django import CosineDistance

from patterns.embedders import get_embedder
from patterns.models import EMBEDDING_DIMENSIONS, EMBEDDING_INDEX_NAME, AgentDiscoveredPattern, InsightType
from tenancy.context import OWNER_ALIAS, TenantContextError, current_platform, current_tenant

logger = logging.getLogger(__name__)

MAX_K = 100
# pgvector stores float4; a larger magnitude would overflow in the database.
FLOAT4_MAX = 3.4028234e38
STRATEGY_EXACT = "exact"
STRATEGY_INDEX = "index"
STRATEGY_EXACT_FALLBACK = "exact_fallback"


class SearchScope:
    """Where to look: one engagement, or every engagement of the client account."""

    ENGAGEMENT = "engagement"
    CLIENT = "client"
    choices = (ENGAGEMENT, CLIENT)


class PatternNotEmbedded(ValueError):
    """The pattern has no embedding (yet): backfill_pattern_embeddings fills it."""


class SimilarPattern(NamedTuple):
    pattern: AgentDiscoveredPattern
    similarity: float


@dataclass
class SimilarPatterns:
    """The matches, nearest first, and how they were found (for operators and benchmarks)."""

    matches: list[SimilarPattern]
    strategy: str
    # Candidate rows counted, capped just past the exact-search bound.
    candidates: int = 0

    def __iter__(self) -> Iterator[SimilarPattern]:
        return iter(self.matches)

    def __len__(self) -> int:
        return len(self.matches)

    def __getitem__(self, index):
        return self.matches[index]


def _uuid(value) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _client_account_id(client_account_id) -> str:
    """The client account to search: the tenant in context, or the one a platform job names."""
    tenant = current_tenant()
    if tenant is not None:
        if client_account_id is not None and _uuid(client_account_id) != tenant.client_account_id:
            raise TenantContextError("A search inside a tenant context can only search that tenant.")
        return tenant.client_account_id
    if current_platform() is not None and client_account_id is not None:
        return _uuid(client_account_id)
    raise TenantContextError("Similarity search runs inside tenant_context (or platform_context naming a client account).")


def _allowed_engagement_ids() -> tuple[str, ...] | None:
    tenant = current_tenant()
    return None if tenant is None else tenant.engagement_ids


def pattern_vector_validate(vector: Sequence[float]) -> np.ndarray:
    """The vector as float64s; raises ValueError unless it has 1536 finite, not all zero, values."""
    try:
        values = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("A query vector holds numbers only.") from None
    if values.shape != (EMBEDDING_DIMENSIONS,):
        raise ValueError(f"A query vector has {EMBEDDING_DIMENSIONS} values; this one has shape {values.shape}.")
    if not np.isfinite(values).all() or np.abs(values).max() > FLOAT4_MAX:
        raise ValueError("A query vector holds only finite numbers that fit a float4 (no NaN or infinity).")
    if not values.astype(np.float32).any():
        # Cosine distance to the zero vector is undefined (NaN in pgvector). pgvector stores
        # float4, so values below ~1.4e-45 are zeros too.
        raise ValueError("A query vector cannot be all zeros (as float4).")
    return values


# One %-format for all 1536 values: ~4x faster than pgvector's per-value str(), and
# 9 significant digits round-trip a float4 exactly.
_VECTOR_LITERAL = "[" + ",".join(["%.9g"] * EMBEDDING_DIMENSIONS) + "]"


def _vector_literal(values: np.ndarray) -> Value:
    return Value(_VECTOR_LITERAL % tuple(values.tolist()))


def patterns_visible() -> QuerySet[AgentDiscoveredPattern]:
    """Patterns the current user may read: RLS confines to the tenant; role limits engagements."""
    patterns = AgentDiscoveredPattern.objects.defer("embedding")
    allowed = _allowed_engagement_ids()
    if allowed is not None:
        patterns = patterns.filter(engagement_id__in=allowed)
    return patterns


def patterns_list(
    *,
    insight_types: Iterable[str] | None = None,
    pattern_types: Iterable[str] | None = None,
    engagement_id=None,
    min_confidence: float | None = None,
) -> QuerySet[AgentDiscoveredPattern]:
    """Visible patterns, newest first, narrowed by the given filters (embedding deferred)."""
    patterns = patterns_visible()
    if insight_types:
        patterns = patterns.filter(insight_type__in=list(insight_types))
    if pattern_types:
        patterns = patterns.filter(pattern_type__in=list(pattern_types))
    if engagement_id is not None:
        patterns = patterns.filter(engagement_id=engagement_id)
    if min_confidence is not None:
        patterns = patterns.filter(confidence_score__gte=min_confidence)
    return patterns.order_by("-created_at", "-id")


def pattern_get(*, pattern_id) -> AgentDiscoveredPattern:
    """One visible pattern (embedding deferred); raises AgentDiscoveredPattern.DoesNotExist."""
    return patterns_visible().get(pk=pattern_id)


@dataclass(frozen=True)
class _Plan:
    candidates: int
    use_index: bool
    # enable_sort before the index plan switched it off (restored after the query).
    enable_sort: str


def _plan(candidates: QuerySet, *, k: int, alias: str) -> _Plan:
    """Count the candidates, choose the strategy and, for the index, set its scan settings.

    One statement (see the module docstring): the table size N from pg_class (kept by
    ANALYZE and autovacuum; 0 while never analysed), the exact-search bound, the
    candidates counted up to max(k, bound) + 1 (so an index answer can be checked for
    under-filling), and, when n exceeds the bound, transaction-local settings for the
    index scan. The hnsw.* / ivfflat.* settings affect vector index scans only;
    enable_sort = off, which makes the planner take the vector index, is restored by
    _restore_sort right after the query.
    """
    inner, params = candidates.order_by().values("pk").query.get_compiler(using=alias).as_sql()
    cap = settings.EXACT_SEARCH_MAX_ROWS
    index_settings = {
        "hnsw.ef_search": str(max(settings.HNSW_EF_SEARCH, k)),
        "hnsw.iterative_scan": settings.HNSW_ITERATIVE_SCAN,
        "hnsw.max_scan_tuples": str(settings.HNSW_MAX_SCAN_TUPLES),
        "ivfflat.probes": str(settings.IVFFLAT_PROBES),
        "ivfflat.iterative_scan": "relaxed_order",
        "enable_sort": "off",
    }
    sql = (
        "WITH stats AS (SELECT %s::float8 AS m, %s::float8 AS r, greatest(reltuples, 0)::float8 AS table_rows"
        " FROM pg_class WHERE oid = %s::regclass"
        "), bound AS (SELECT least(%s, floor((m + sqrt(m * m + 4 * r * table_rows)) / 2))::bigint AS exact_rows FROM stats"
        "), counted AS ("
        f" SELECT count(*) AS n FROM ({inner} LIMIT (SELECT greatest(%s, exact_rows) + 1 FROM bound)) AS candidates"
        "), choice AS ("
        " SELECT n, n > exact_rows AS use_index, current_setting('enable_sort') AS enable_sort FROM bound, counted"
        ") SELECT n, use_index, enable_sort"
        + "".join(", CASE WHEN use_index THEN set_config(%s, %s, true) END" for _ in index_settings)
        + " FROM choice"
    )
    with connections[alias].cursor() as cursor:
        cursor.execute(
            sql,
            [settings.EXACT_SEARCH_MIN_ROWS, settings.EXACT_SEARCH_COST_RATIO, AgentDiscoveredPattern._meta.db_table, cap, *params, k]
            + [item for pair in index_settings.items() for item in pair],
        )
        counted, use_index, enable_sort = cursor.fetchone()[:3]
    return _Plan(candidates=counted, use_index=use_index, enable_sort=enable_sort)


def _restore_sort(plan: _Plan, *, alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT set_config('enable_sort', %s, true)", [plan.enable_sort])


def _with_distance(candidates: QuerySet, vector: Value) -> QuerySet:
    return candidates.defer("embedding").annotate(distance=CosineDistance("embedding", vector))


def _nearest_by_index(candidates: QuerySet, vector: Value, k: int) -> list[tuple]:
    """ORDER BY embedding <=> q LIMIT k: the vector index, with the settings _plan made."""
    return [(p, p.distance) for p in _with_distance(candidates, vector).order_by("distance")[:k]]


def _nearest_exactly(candidates: QuerySet, vector: Value, k: int, *, alias: str) -> list[tuple]:
    """Distances of every candidate, then the k smallest: exact, and no index can be used.

    The MATERIALIZED CTE computes the candidates (a scan of the candidate index) before
    ordering them, so the planner cannot turn the ORDER BY into a vector index scan.
    """
    inner, params = _with_distance(candidates, vector).order_by().query.get_compiler(using=alias).as_sql()
    sql = f"WITH candidates AS MATERIALIZED ({inner}) SELECT * FROM candidates ORDER BY distance LIMIT %s"
    return [(p, p.distance) for p in AgentDiscoveredPattern.objects.using(alias).raw(sql, [*params, k])]


def patterns_similar_to_vector(
    *,
    vector: Sequence[float],
    k: int = 10,
    embedding_model: str | None = None,
    insight_types: Iterable[str] | None = None,
    engagement_id=None,
    scope: str | None = None,
    min_similarity: float | None = None,
    exclude_pattern_id=None,
    client_account_id=None,
) -> SimilarPatterns:
    """The k patterns nearest to ``vector`` (cosine), nearest first, with similarity = 1 - distance.

    Searches the client account of the tenant context (a platform job names it), only
    vectors of ``embedding_model`` (default: the configured embedder's), within the
    engagements the user may see. ``scope`` is ``engagement`` (needs ``engagement_id``;
    the default when one is given) or ``client`` (every engagement; the default otherwise).
    Returns min(k, matching rows) matches, minus those below ``min_similarity``. Raises
    ValueError for a bad vector, k, scope or insight type; TenantContextError outside a context.
    """
    values = pattern_vector_validate(vector)
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k is between 1 and {MAX_K}.")
    scope = scope or (SearchScope.ENGAGEMENT if engagement_id is not None else SearchScope.CLIENT)
    if scope not in SearchScope.choices:
        raise ValueError(f"scope is one of: {', '.join(SearchScope.choices)}.")
    if scope == SearchScope.ENGAGEMENT and engagement_id is None:
        raise ValueError("scope 'engagement' needs an engagement_id.")
    if scope == SearchScope.CLIENT and engagement_id is not None:
        raise ValueError("engagement_id narrows the search to one engagement: use scope 'engagement'.")
    insight_types = sorted(set(insight_types or ()))
    unknown = set(insight_types) - set(InsightType.values)
    if unknown:
        raise ValueError(f"Unknown insight types: {', '.join(sorted(unknown))}.")

    client_id = _client_account_id(client_account_id)
    candidates = AgentDiscoveredPattern.objects.filter(
        client_account_id=client_id,
        embedding_model=embedding_model or get_embedder().model_name,
        embedding__isnull=False,
    )
    if insight_types:
        candidates = candidates.filter(insight_type__in=insight_types)
    allowed = _allowed_engagement_ids()
    if allowed is not None:
        candidates = candidates.filter(engagement_id__in=allowed)
    if scope == SearchScope.ENGAGEMENT:
        candidates = candidates.filter(engagement_id=engagement_id)
    if exclude_pattern_id is not None:
        candidates = candidates.exclude(pk=exclude_pattern_id)

    alias = router.db_for_read(AgentDiscoveredPattern)
    plan = _plan(candidates, k=k, alias=alias)
    if plan.candidates == 0:
        return SimilarPatterns(matches=[], strategy=STRATEGY_EXACT, candidates=0)

    literal = _vector_literal(values)
    if not plan.use_index:
        strategy = STRATEGY_EXACT
        rows = _nearest_exactly(candidates, literal, k, alias=alias)
    else:
        strategy = STRATEGY_INDEX
        rows = _nearest_by_index(candidates, literal, k)
        if len(rows) < min(k, plan.candidates):
            logger.warning(
                "Vector index under-filled a search (%d of %d rows): answered exactly; raise HNSW_MAX_SCAN_TUPLES "
                "or EXACT_SEARCH_COST_RATIO.",
                len(rows),
                min(k, plan.candidates),
            )
            strategy = STRATEGY_EXACT_FALLBACK
            rows = _nearest_exactly(candidates, literal, k, alias=alias)
        # Not in a finally: after a database error the transaction is aborted, and its
        # rollback (to the caller's savepoint at the latest) undoes the settings anyway.
        _restore_sort(plan, alias=alias)

    # Relaxed iterative scans may return the k rows slightly out of order.
    rows.sort(key=lambda row: (row[1], str(row[0].pk)))
    matches = [SimilarPattern(pattern, 1.0 - distance) for pattern, distance in rows]
    if min_similarity is not None:
        matches = [match for match in matches if match.similarity >= min_similarity]
    return SimilarPatterns(matches=matches, strategy=strategy, candidates=plan.candidates)


def patterns_similar_to_text(*, text: str, **search) -> SimilarPatterns:
    """Patterns nearest to the embedding of ``text`` (see patterns_similar_to_vector).

    Raises ValueError for an empty text; EmbeddingError when the embedder fails.
    """
    if not text or not text.strip():
        raise ValueError("The query text is empty.")
    embedder = get_embedder()
    (vector,) = embedder.embed_texts([text])
    return patterns_similar_to_vector(vector=vector, embedding_model=embedder.model_name, **search)


def patterns_similar_to_pattern(*, pattern: AgentDiscoveredPattern, **search) -> SimilarPatterns:
    """Patterns nearest to ``pattern``, never the pattern itself (see patterns_similar_to_vector).

    Raises PatternNotEmbedded when the pattern has no embedding yet.
    """
    row = AgentDiscoveredPattern.objects.filter(pk=pattern.pk).values("embedding", "embedding_model").first()
    if row is None or row["embedding"] is None:
        raise PatternNotEmbedded("This pattern has no embedding yet; run backfill_pattern_embeddings.")
    return patterns_similar_to_vector(
        vector=[float(x) for x in row["embedding"]], embedding_model=row["embedding_model"], exclude_pattern_id=pattern.pk, **search
    )


@dataclass(frozen=True)
class VectorIndex:
    name: str
    method: str
    definition: str
    size_bytes: int
    valid: bool


@dataclass(frozen=True)
class EmbeddingIndexStatus:
    rows: int
    embedded_rows: int
    indexes: list[VectorIndex]

    @property
    def main(self) -> VectorIndex | None:
        """The index the model declares (EMBEDDING_INDEX_NAME), if it exists."""
        return next((index for index in self.indexes if index.name == EMBEDDING_INDEX_NAME), None)


def embedding_index_status() -> EmbeddingIndexStatus:
    """Every vector index (HNSW, IVFFlat) of the patterns table with size and validity, and row counts.

    Reads through the owner connection (catalogs and every tenant's rows: platform scope).
    """
    table = AgentDiscoveredPattern._meta.db_table
    with connections[OWNER_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, am.amname, pg_get_indexdef(i.indexrelid), pg_relation_size(i.indexrelid), i.indisvalid "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "WHERE i.indrelid = %s::regclass AND am.amname IN ('hnsw', 'ivfflat') ORDER BY c.relname",
            [table],
        )
        indexes = [VectorIndex(*row) for row in cursor.fetchall()]
        cursor.execute(f'SELECT count(*), count(embedding) FROM "{table}"')
        rows, embedded = cursor.fetchone()
    return EmbeddingIndexStatus(rows=rows, embedded_rows=embedded, indexes=indexes)
