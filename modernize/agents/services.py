"""Writes to agent task history and the daily performance roll-up.

Call these inside a tenant context (or platform_context for platform jobs); the tenant of
a task is its flow's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Avg, BigIntegerField, Count, Exists, OuterRef, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from modernize.agents.models import (
    FINISHED_TASK_STATUSES,
    UNSUCCESSFUL_TASK_STATUSES,
    AgentPerformanceDaily,
    AgentTaskHistory,
    AgentTaskStatus,
    AgentType,
)
from modernize.flows.models import MasterFlow

RESULT_PREVIEW_CHARS = 500
SECONDS = Decimal("0.001")
CONFIDENCE = Decimal("0.0001")
PERCENT = Decimal("0.01")
IN_PROGRESS_STATUSES = tuple(s for s in AgentTaskStatus if s not in FINISHED_TASK_STATUSES)


class AgentTaskStateError(ValueError):
    """A change that does not fit the task's state (finishing a finished task, …)."""


def _locked(task: AgentTaskHistory) -> AgentTaskHistory:
    return AgentTaskHistory.objects.select_for_update().get(pk=task.pk)


def _copy_back(source, target, fields: list[str]) -> None:
    for name in fields:
        setattr(target, name, getattr(source, name))


def _seconds(delta: dt.timedelta) -> Decimal:
    # Exact arithmetic on the timedelta's integer parts; floats would drift at the 3rd decimal.
    whole = Decimal(delta.days * 86400 + delta.seconds)
    return (whole + Decimal(delta.microseconds) / Decimal(1_000_000)).quantize(SECONDS, rounding=ROUND_HALF_UP)


def _confidence(value) -> Decimal | None:
    if value is None:
        return None
    score = Decimal(str(value)).quantize(CONFIDENCE, rounding=ROUND_HALF_UP)
    if not Decimal(0) <= score <= Decimal(1):
        raise ValueError(f"confidence_score must be between 0 and 1, not {value}.")
    return score


def agent_task_start(
    *,
    flow: MasterFlow,
    agent_name: str,
    task_name: str,
    task_id: str | None = None,
    agent_type: str = AgentType.INDIVIDUAL,
    task_description: str = "",
    started_at: dt.datetime | None = None,
) -> AgentTaskHistory:
    """Record that ``agent_name`` started ``task_name`` in ``flow``; returns the running task.

    The task takes the flow's client account and engagement; ``task_id`` defaults to a new
    uuid, ``started_at`` to now.
    """
    return AgentTaskHistory.objects.create(
        client_account_id=flow.client_account_id,
        engagement_id=flow.engagement_id,
        flow=flow,
        agent_name=agent_name,
        agent_type=agent_type,
        task_id=task_id or str(uuid.uuid4()),
        task_name=task_name,
        task_description=task_description,
        started_at=started_at or timezone.now(),
        status=AgentTaskStatus.RUNNING,
    )


@transaction.atomic
def agent_task_status_set(*, task: AgentTaskHistory, status: str) -> AgentTaskHistory:
    """Move an unfinished task to another in-progress status; entering ``thinking`` counts a phase.

    Raises AgentTaskStateError for a finished task or a finishing status (use
    agent_task_complete for those).
    """
    if status not in IN_PROGRESS_STATUSES:
        raise AgentTaskStateError(f"{status!r} is not an in-progress status; finish tasks with agent_task_complete.")
    current = _locked(task)
    if current.status in FINISHED_TASK_STATUSES:
        raise AgentTaskStateError(f"Task {current.task_id} has already finished ({current.status}).")
    if status == AgentTaskStatus.THINKING and current.status != AgentTaskStatus.THINKING:
        current.thinking_phases_count += 1
    current.status = status
    fields = ["status", "thinking_phases_count", "updated_at"]
    current.save(update_fields=fields)
    _copy_back(current, task, fields)
    return task


@transaction.atomic
def agent_task_complete(
    *,
    task: AgentTaskHistory,
    success: bool,
    result_preview: str = "",
    error_message: str = "",
    confidence_score: float | Decimal | None = None,
    completed_at: dt.datetime | None = None,
    timed_out: bool = False,
    memory_usage_mb: float | Decimal | None = None,
) -> AgentTaskHistory:
    """Finish ``task``: completed when ``success``, else failed (or timeout with ``timed_out``).

    duration_seconds = completed_at - started_at (to the millisecond, completed_at defaults
    to now); result_preview is cut to RESULT_PREVIEW_CHARS characters. Raises
    AgentTaskStateError when the task has already finished or would end before it started,
    ValueError for a confidence outside 0..1.
    """
    if success and timed_out:
        raise AgentTaskStateError("A task that timed out did not succeed.")
    current = _locked(task)
    if current.status in FINISHED_TASK_STATUSES:
        raise AgentTaskStateError(f"Task {current.task_id} has already finished ({current.status}).")
    completed_at = completed_at or timezone.now()
    if completed_at < current.started_at:
        raise AgentTaskStateError(f"Task {current.task_id} cannot complete at {completed_at}, before it started.")
    current.completed_at = completed_at
    current.duration_seconds = _seconds(completed_at - current.started_at)
    current.success = success
    if success:
        current.status = AgentTaskStatus.COMPLETED
    else:
        current.status = AgentTaskStatus.TIMEOUT if timed_out else AgentTaskStatus.FAILED
    current.result_preview = (result_preview or "")[:RESULT_PREVIEW_CHARS]
    current.error_message = error_message or ""
    current.confidence_score = _confidence(confidence_score)
    if memory_usage_mb is not None:
        current.memory_usage_mb = Decimal(str(memory_usage_mb)).quantize(PERCENT, rounding=ROUND_HALF_UP)
    fields = [
        "completed_at",
        "duration_seconds",
        "success",
        "status",
        "result_preview",
        "error_message",
        "confidence_score",
        "memory_usage_mb",
        "updated_at",
    ]
    current.save(update_fields=fields)
    _copy_back(current, task, fields)
    return task


@transaction.atomic
def agent_task_tokens_add(*, task: AgentTaskHistory, input_tokens: int, output_tokens: int, llm_calls: int = 1) -> AgentTaskHistory:
    """Add one (or ``llm_calls``) LLM call's tokens to the task.

    token_usage becomes ``{"input", "output", "total"}`` with the sums (total = input +
    output) and llm_calls_count grows by ``llm_calls``. Raises ValueError for negative counts.
    """
    if min(input_tokens, output_tokens, llm_calls) < 0:
        raise ValueError("Token and call counts cannot be negative.")
    current = _locked(task)
    usage = current.token_usage or {}
    total_in = int(usage.get("input", 0)) + input_tokens
    total_out = int(usage.get("output", 0)) + output_tokens
    current.token_usage = {"input": total_in, "output": total_out, "total": total_in + total_out}
    current.llm_calls_count += llm_calls
    fields = ["token_usage", "llm_calls_count", "updated_at"]
    current.save(update_fields=fields)
    _copy_back(current, task, fields)
    return task


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def _quantized(value, step: Decimal) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(step, rounding=ROUND_HALF_UP)


@transaction.atomic
def agent_performance_daily_rollup(*, date: dt.date, client_account_id=None) -> int:
    """Recompute agent_performance_daily for the UTC day ``date`` from agent_task_history.

    One aggregate query over the tasks started that day (per client account, engagement
    and agent) and one upsert; rows of that day with no task left are deleted. Covers the
    tenants visible in the current context, or only ``client_account_id``. Per row:
    attempted = tasks started; completed = status completed; failed = failed or timeout;
    success_rate = 100 * completed / attempted (2 decimals); averages over the tasks that
    have a value; totals of llm_calls_count and token_usage.total. Returns the number of
    rows written.
    """
    start, end = _day_bounds(date)
    tasks = AgentTaskHistory.objects.filter(started_at__gte=start, started_at__lt=end)
    existing = AgentPerformanceDaily.objects.filter(date_recorded=date)
    if client_account_id is not None:
        tasks = tasks.filter(client_account_id=client_account_id)
        existing = existing.filter(client_account_id=client_account_id)
    groups = (
        tasks.order_by()
        .values("client_account_id", "engagement_id", "agent_name")
        .annotate(
            attempted=Count("id"),
            completed=Count("id", filter=Q(status=AgentTaskStatus.COMPLETED)),
            failed=Count("id", filter=Q(status__in=UNSUCCESSFUL_TASK_STATUSES)),
            avg_duration=Avg("duration_seconds"),
            avg_confidence=Avg("confidence_score"),
            llm_calls=Coalesce(Sum("llm_calls_count"), 0),
            tokens=Coalesce(Sum(Cast(KT("token_usage__total"), BigIntegerField())), 0),
        )
    )
    rows = [
        AgentPerformanceDaily(
            client_account_id=g["client_account_id"],
            engagement_id=g["engagement_id"],
            agent_name=g["agent_name"],
            date_recorded=date,
            tasks_attempted=g["attempted"],
            tasks_completed=g["completed"],
            tasks_failed=g["failed"],
            avg_duration_seconds=_quantized(g["avg_duration"], SECONDS),
            avg_confidence_score=_quantized(g["avg_confidence"], CONFIDENCE),
            success_rate=(Decimal(100 * g["completed"]) / g["attempted"]).quantize(PERCENT, rounding=ROUND_HALF_UP),
            total_llm_calls=g["llm_calls"],
            total_tokens_used=g["tokens"],
        )
        for g in groups
    ]
    if rows:
        AgentPerformanceDaily.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["agent_name", "date_recorded", "client_account", "engagement"],
            update_fields=[
                "tasks_attempted",
                "tasks_completed",
                "tasks_failed",
                "avg_duration_seconds",
                "avg_confidence_score",
                "success_rate",
                "total_llm_calls",
                "total_tokens_used",
                "updated_at",
            ],
        )
    # By key, not by pk: an upserted row keeps its old id, which bulk_create does not return.
    same_key = tasks.filter(
        client_account_id=OuterRef("client_account_id"), engagement_id=OuterRef("engagement_id"), agent_name=OuterRef("agent_name")
    )
    existing.exclude(Exists(same_key)).delete()
    return len(rows)
