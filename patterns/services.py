"""Writes of discovered patterns: recording (with near-duplicate merging), evidence,
feedback, references, edits, and the embedding backfill.

Call them inside ``tenant_context`` (requests, agents) or ``platform_context`` (platform
jobs): they never choose the tenant themselves, and RLS refuses a row of another tenant.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from modernize.security.models import AuditCategory
from modernize.security.services import security_event_record
from patterns.embedders import get_embedder
from patterns.models import EMBEDDING_INDEX_NAME, INSIGHT_TYPE_FOR_PATTERN_TYPE, AgentDiscoveredPattern
from patterns.selectors import EmbeddingIndexStatus, SearchScope, embedding_index_status, patterns_similar_to_vector
from tenancy.context import OWNER_ALIAS, current_tenant, platform_context, tenant_context
from tenancy.models import Engagement

logger = logging.getLogger(__name__)

# The fields whose text is embedded; changing one of them re-embeds the pattern.
EMBEDDED_FIELDS = ("pattern_name", "pattern_description")
EDITABLE_FIELDS = (
    "pattern_name",
    "pattern_description",
    "pattern_type",
    "insight_type",
    "discovered_by_agent",
    "task_id",
    "confidence_score",
    "execution_context",
)


@dataclass(frozen=True)
class PatternRecorded:
    pattern: AgentDiscoveredPattern
    created: bool
    # Similarity to the existing pattern it was merged into (None when created or same pattern_id).
    merged_similarity: float | None = None


def pattern_text(*, pattern_name: str, pattern_description: str) -> str:
    """The text an embedding is computed from."""
    return f"{pattern_name.strip()}\n{pattern_description.strip()}".strip()


def _embed(pattern_name: str, pattern_description: str) -> tuple[list[float], str]:
    embedder = get_embedder()
    (vector,) = embedder.embed_texts([pattern_text(pattern_name=pattern_name, pattern_description=pattern_description)])
    return vector, embedder.model_name


def _bounded(entries: list, entry: dict) -> list:
    return (list(entries) + [entry])[-settings.PATTERN_HISTORY_LIMIT :]


def _lock_engagement(engagement_id) -> None:
    # Serialises recording within one engagement, so two agents reporting the same
    # finding at once cannot both insert it.
    alias = router.db_for_write(AgentDiscoveredPattern)
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"patterns:{engagement_id}"])


@transaction.atomic
def pattern_record(
    *,
    engagement: Engagement,
    pattern_type: str,
    pattern_name: str,
    discovered_by_agent: str,
    pattern_description: str = "",
    pattern_id: str | None = None,
    insight_type: str | None = None,
    task_id: str = "",
    confidence_score: float = 0.5,
    pattern_data: dict | None = None,
    execution_context: dict | None = None,
    evidence: dict | None = None,
) -> PatternRecorded:
    """Record what an agent discovered, embedding it on write.

    A pattern of the same engagement with the same ``pattern_id``, or one whose embedding
    is at least PATTERN_DUPLICATE_SIMILARITY similar, receives the finding as evidence
    (evidence_count + 1, the evidence appended, confidence kept at the higher value)
    instead of a new row. ``insight_type`` defaults to the documented mapping of
    ``pattern_type``. Raises EmbeddingError when the embedder fails (nothing is written).
    """
    vector, model_name = _embed(pattern_name, pattern_description)
    _lock_engagement(engagement.pk)
    entry = {
        "agent": discovered_by_agent,
        "task_id": task_id,
        "confidence_score": confidence_score,
        "pattern_name": pattern_name,
        **({"details": evidence} if evidence else {}),
    }

    existing = None
    similarity = None
    if pattern_id:
        existing = AgentDiscoveredPattern.objects.filter(
            client_account_id=engagement.client_account_id, engagement_id=engagement.pk, pattern_id=pattern_id
        ).first()
    if existing is None:
        nearest = patterns_similar_to_vector(
            vector=vector,
            k=1,
            embedding_model=model_name,
            engagement_id=engagement.pk,
            scope=SearchScope.ENGAGEMENT,
            min_similarity=settings.PATTERN_DUPLICATE_SIMILARITY,
            client_account_id=engagement.client_account_id,
        )
        if nearest.matches:
            existing, similarity = nearest.matches[0]
    if existing is not None:
        if similarity is not None:
            entry["similarity"] = round(similarity, 6)
        merged = pattern_evidence_add(pattern=existing, evidence=entry, confidence_score=confidence_score)
        return PatternRecorded(pattern=merged, created=False, merged_similarity=similarity)

    data = dict(pattern_data or {})
    data["evidence"] = _bounded(data.get("evidence", []), {"recorded_at": timezone.now().isoformat(), **entry})
    pattern = AgentDiscoveredPattern.objects.create(
        client_account_id=engagement.client_account_id,
        engagement=engagement,
        pattern_id=pattern_id or f"{pattern_type.lower()}-{uuid.uuid4().hex[:12]}",
        pattern_type=pattern_type,
        insight_type=insight_type or INSIGHT_TYPE_FOR_PATTERN_TYPE[pattern_type],
        pattern_name=pattern_name,
        pattern_description=pattern_description,
        discovered_by_agent=discovered_by_agent,
        task_id=task_id,
        confidence_score=confidence_score,
        evidence_count=1,
        pattern_data=data,
        execution_context=execution_context or {},
        embedding=vector,
        embedding_model=model_name,
    )
    # Same transaction as the row: a pattern and its audit entry exist together or not at all.
    tenant = current_tenant()
    security_event_record(
        event_type="pattern_created",
        event_category=AuditCategory.DATA_ACCESS,
        description=f"{discovered_by_agent} recorded the pattern {pattern.pattern_id}.",
        client_account_id=engagement.client_account_id,
        engagement_id=engagement.pk,
        actor_user_id=tenant.user_id if tenant is not None else None,
        details={"pattern": str(pattern.pk), "pattern_id": pattern.pattern_id, "pattern_type": pattern_type},
    )
    return PatternRecorded(pattern=pattern, created=True)


def _locked(pattern: AgentDiscoveredPattern) -> AgentDiscoveredPattern:
    return AgentDiscoveredPattern.objects.defer("embedding").select_for_update().get(pk=pattern.pk)


@transaction.atomic
def pattern_evidence_add(*, pattern: AgentDiscoveredPattern, evidence: dict, confidence_score: float | None = None) -> AgentDiscoveredPattern:
    """Add one piece of evidence: evidence_count + 1, entry appended (last PATTERN_HISTORY_LIMIT kept).

    A higher ``confidence_score`` raises the pattern's confidence; a lower one leaves it.
    """
    locked = _locked(pattern)
    data = dict(locked.pattern_data or {})
    data["evidence"] = _bounded(data.get("evidence", []), {"recorded_at": timezone.now().isoformat(), **evidence})
    locked.pattern_data = data
    locked.evidence_count += 1
    fields = ["pattern_data", "evidence_count", "updated_at"]
    if confidence_score is not None and confidence_score > locked.confidence_score:
        locked.confidence_score = confidence_score
        fields.append("confidence_score")
    locked.save(update_fields=fields)
    return locked


@transaction.atomic
def pattern_feedback_record(*, pattern: AgentDiscoveredPattern, helpful: bool, comment: str = "", user=None) -> AgentDiscoveredPattern:
    """Record a user's verdict; pattern_effectiveness_score becomes (helpful + 1) / (all + 2).

    The counts cover every verdict ever given; only the last PATTERN_HISTORY_LIMIT entries
    are kept in pattern_data["feedback"].
    """
    locked = _locked(pattern)
    data = dict(locked.pattern_data or {})
    summary = dict(data.get("feedback_summary") or {"helpful": 0, "not_helpful": 0})
    summary["helpful" if helpful else "not_helpful"] += 1
    data["feedback_summary"] = summary
    data["feedback"] = _bounded(
        data.get("feedback", []),
        {
            "recorded_at": timezone.now().isoformat(),
            "helpful": helpful,
            "comment": comment,
            "user_id": None if user is None else str(getattr(user, "pk", user)),
        },
    )
    locked.pattern_data = data
    # Laplace smoothing: one verdict does not make a pattern perfect or useless.
    locked.pattern_effectiveness_score = (summary["helpful"] + 1) / (summary["helpful"] + summary["not_helpful"] + 2)
    locked.save(update_fields=["pattern_data", "pattern_effectiveness_score", "updated_at"])
    return locked


def patterns_reference_record(*, pattern_ids: Iterable) -> int:
    """Count one use by an agent of each pattern: times_referenced + 1, last_used_at = now.

    One UPDATE, so concurrent agents never lose a count. Returns the rows updated.
    """
    return AgentDiscoveredPattern.objects.filter(pk__in=list(pattern_ids)).update(
        times_referenced=F("times_referenced") + 1, last_used_at=timezone.now(), updated_at=timezone.now()
    )


@transaction.atomic
def pattern_update(*, pattern: AgentDiscoveredPattern, **changes) -> AgentDiscoveredPattern:
    """Change the editable fields; re-embeds when the name or the description changes.

    Raises TypeError for a field that is not editable; EmbeddingError when re-embedding fails.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}.")
    locked = _locked(pattern)
    fields = [name for name, value in changes.items() if getattr(locked, name) != value]
    for name in fields:
        setattr(locked, name, changes[name])
    if any(name in EMBEDDED_FIELDS for name in fields):
        locked.embedding, locked.embedding_model = _embed(locked.pattern_name, locked.pattern_description)
        fields += ["embedding", "embedding_model"]
    if fields:
        locked.save(update_fields=fields + ["updated_at"])
    return locked


def pattern_delete(*, pattern: AgentDiscoveredPattern) -> None:
    """Delete the pattern."""
    AgentDiscoveredPattern.objects.filter(pk=pattern.pk).delete()


@transaction.atomic
def patterns_reembed(*, patterns: Iterable[AgentDiscoveredPattern]) -> int:
    """Recompute the embedding of the given patterns with the configured embedder; return how many.

    Only the patterns visible in the current context are touched (the rest, and ids that
    no longer exist, are skipped), locked while they are embedded; like the backfill it
    changes nothing but ``embedding`` and ``embedding_model``. One transaction: raises
    EmbeddingError, with nothing written, when the embedder fails.
    """
    ids = [pattern.pk for pattern in patterns]
    rows = list(
        AgentDiscoveredPattern.objects.filter(pk__in=ids)
        .only("id", "pattern_name", "pattern_description")
        .order_by("id")
        .select_for_update()
    )
    embedder = get_embedder()
    for start in range(0, len(rows), settings.EMBEDDING_BATCH_SIZE):
        batch = rows[start : start + settings.EMBEDDING_BATCH_SIZE]
        vectors = embedder.embed_texts([pattern_text(pattern_name=p.pattern_name, pattern_description=p.pattern_description) for p in batch])
        for pattern, vector in zip(batch, vectors):
            pattern.embedding = vector
            pattern.embedding_model = embedder.model_name
        AgentDiscoveredPattern.objects.bulk_update(batch, ["embedding", "embedding_model"])
    return len(rows)


@dataclass
class BackfillSummary:
    tenants: int
    rows: int
    batches: int
    seconds: float
    dry_run: bool
    embedding_model: str

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def _pending(*, reembed: bool, model_name: str) -> Q:
    if reembed:
        return Q(embedding__isnull=True) | ~Q(embedding_model=model_name)
    return Q(embedding__isnull=True)


def patterns_pending_embedding(*, reembed: bool = False, client_account_id=None) -> dict[str, int]:
    """Rows left to embed per client account (runs in a platform context: every tenant)."""
    model_name = get_embedder().model_name
    with platform_context(reason="backfill_pattern_embeddings: count rows to embed per client account"):
        pending = AgentDiscoveredPattern.objects.filter(_pending(reembed=reembed, model_name=model_name))
        if client_account_id is not None:
            pending = pending.filter(client_account_id=client_account_id)
        rows = pending.order_by().values("client_account_id").annotate(n=Count("id")).values_list("client_account_id", "n")
        return {str(client_id): n for client_id, n in sorted(rows)}


def pattern_embeddings_backfill(
    *,
    batch_size: int = 100,
    client_account_id=None,
    reembed: bool = False,
    dry_run: bool = False,
    on_tenant: Callable[[str, int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> BackfillSummary:
    """Embed the rows without an embedding (with ``reembed``: also rows of another embedder).

    Client accounts are listed in a platform context; each tenant's rows are then embedded
    inside its own tenant context, one transaction per batch. A run that is killed loses
    at most its open batch, and the next run starts where it stopped: it selects only
    rows still pending, and changes nothing but ``embedding`` and ``embedding_model``.
    Rows locked by a concurrent run are skipped (SKIP LOCKED), not waited for.
    """
    if batch_size < 1:
        raise ValueError("batch_size is at least 1.")
    embedder = get_embedder()
    pending_by_tenant = patterns_pending_embedding(reembed=reembed, client_account_id=client_account_id)
    started = time.monotonic()
    rows = batches = 0
    if not dry_run:
        condition = _pending(reembed=reembed, model_name=embedder.model_name)
        for client_id, pending in pending_by_tenant.items():
            if on_tenant is not None:
                on_tenant(client_id, pending)
            while True:
                with tenant_context(client_id):
                    batch = list(
                        AgentDiscoveredPattern.objects.filter(condition)
                        .only("id", "pattern_name", "pattern_description")
                        .order_by("id")
                        .select_for_update(skip_locked=True)[:batch_size]
                    )
                    if not batch:
                        break
                    vectors = embedder.embed_texts(
                        [pattern_text(pattern_name=p.pattern_name, pattern_description=p.pattern_description) for p in batch]
                    )
                    for pattern, vector in zip(batch, vectors):
                        pattern.embedding = vector
                        pattern.embedding_model = embedder.model_name
                    AgentDiscoveredPattern.objects.bulk_update(batch, ["embedding", "embedding_model"])
                rows += len(batch)
                batches += 1
                if on_batch is not None:
                    on_batch(len(batch))
    else:
        rows = sum(pending_by_tenant.values())
    return BackfillSummary(
        tenants=len(pending_by_tenant),
        rows=rows,
        batches=batches,
        seconds=time.monotonic() - started,
        dry_run=dry_run,
        embedding_model=embedder.model_name,
    )


class IndexRebuildError(RuntimeError):
    """The index cannot be rebuilt as asked (inside a transaction, IVFFlat on no data, bad parameters)."""


INDEX_METHODS = ("hnsw", "ivfflat")


def embedding_index_rebuild(
    *,
    method: str = "hnsw",
    m: int = 16,
    ef_construction: int = 64,
    lists: int | None = None,
    maintenance_work_mem: str | None = None,
) -> EmbeddingIndexStatus:
    """Replace the vector index without blocking writes; return the new status.

    CREATE INDEX CONCURRENTLY builds ``<name>_new``, DROP INDEX CONCURRENTLY removes the old
    one, and a rename gives the new one the model's name. Queries keep an index throughout.
    A leftover ``_new`` of an interrupted run is dropped first. IVFFlat needs data (its
    lists are trained on it); ``lists`` defaults to embedded rows / 1000 (at least 1).
    Runs on the owner connection outside any transaction; raises IndexRebuildError.
    """
    if method not in INDEX_METHODS:
        raise IndexRebuildError(f"method is one of: {', '.join(INDEX_METHODS)}.")
    connection = connections[OWNER_ALIAS]
    if connection.in_atomic_block:
        raise IndexRebuildError("CREATE INDEX CONCURRENTLY cannot run inside a transaction: call this outside atomic().")
    status = embedding_index_status()
    if method == "hnsw":
        if not 2 <= m <= 100:
            raise IndexRebuildError("m is between 2 and 100.")
        if not 2 * m <= ef_construction <= 1000:
            raise IndexRebuildError("ef_construction is between 2 * m and 1000.")
        options = f"m = {int(m)}, ef_construction = {int(ef_construction)}"
    else:
        if status.embedded_rows == 0:
            raise IndexRebuildError("IVFFlat trains its lists on existing vectors: embed the rows first (backfill_pattern_embeddings).")
        lists = lists or max(1, status.embedded_rows // 1000)
        if not 1 <= lists <= 32768:
            raise IndexRebuildError("lists is between 1 and 32768.")
        options = f"lists = {int(lists)}"

    table = AgentDiscoveredPattern._meta.db_table
    new_name = f"{EMBEDDING_INDEX_NAME}_new"
    started = time.monotonic()
    with connection.cursor() as cursor:
        if maintenance_work_mem:
            cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [maintenance_work_mem])
        cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{new_name}"')
        cursor.execute(
            f'CREATE INDEX CONCURRENTLY "{new_name}" ON "{table}" USING {method} (embedding vector_cosine_ops) WITH ({options})'
        )
        cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{EMBEDDING_INDEX_NAME}"')
        cursor.execute(f'ALTER INDEX "{new_name}" RENAME TO "{EMBEDDING_INDEX_NAME}"')
        if maintenance_work_mem:
            cursor.execute("RESET maintenance_work_mem")
    seconds = time.monotonic() - started
    security_event_record(
        event_type="pattern_index_rebuilt",
        event_category="platform_access",
        description=f"Rebuilt {EMBEDDING_INDEX_NAME} as {method} ({options}) in {seconds:.1f}s.",
        details={"method": method, "options": options, "seconds": round(seconds, 3), "embedded_rows": status.embedded_rows},
    )
    return embedding_index_status()
