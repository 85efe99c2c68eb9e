"""What agents did (task history) and how they did it, per day (performance roll-up)."""

from django.db import models
from django.db.models import F, Q

from tenancy.constraints import TenantForeignKey
from tenancy.models import TenantModel


class AgentType(models.TextChoices):
    INDIVIDUAL = "individual"
    CREW_MEMBER = "crew_member"


class AgentTaskStatus(models.TextChoices):
    PENDING = "pending"
    STARTING = "starting"
    RUNNING = "running"
    THINKING = "thinking"
    WAITING_LLM = "waiting_llm"
    PROCESSING_RESPONSE = "processing_response"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"


FINISHED_TASK_STATUSES = (AgentTaskStatus.COMPLETED, AgentTaskStatus.FAILED, AgentTaskStatus.TIMEOUT)
UNSUCCESSFUL_TASK_STATUSES = (AgentTaskStatus.FAILED, AgentTaskStatus.TIMEOUT)


def empty_token_usage() -> dict:
    return {"input": 0, "output": 0, "total": 0}


class AgentTaskHistory(TenantModel):
    """One task an agent ran inside a master flow; its flow is in the same engagement."""

    Type = AgentType
    Status = AgentTaskStatus

    flow = models.ForeignKey("flows.MasterFlow", on_delete=models.CASCADE, related_name="agent_tasks")
    agent_name = models.CharField(max_length=150)
    agent_type = models.CharField(max_length=20, choices=AgentType.choices, default=AgentType.INDIVIDUAL)
    task_id = models.CharField(max_length=100, help_text="The orchestrator's id of the task.")
    task_name = models.CharField(max_length=255)
    task_description = models.TextField(blank=True)
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    status = models.CharField(max_length=30, choices=AgentTaskStatus.choices, default=AgentTaskStatus.PENDING)
    success = models.BooleanField(null=True, blank=True, help_text="Null until the task has finished.")
    result_preview = models.TextField(blank=True)
    error_message = models.TextField(blank=True)
    confidence_score = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    llm_calls_count = models.IntegerField(default=0)
    thinking_phases_count = models.IntegerField(default=0)
    token_usage = models.JSONField(default=empty_token_usage, blank=True)
    memory_usage_mb = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta:
        db_table = "agent_task_history"
        ordering = ["-started_at"]
        verbose_name_plural = "agent task history"
        constraints = TenantModel.Meta.constraints + [
            TenantForeignKey(field="flow", columns=("client_account", "engagement"), name="agent_task_history_flow_tenant_fk"),
            models.CheckConstraint(condition=Q(agent_type__in=AgentType.values), name="agent_task_history_agent_type_valid"),
            models.CheckConstraint(condition=Q(status__in=AgentTaskStatus.values), name="agent_task_history_status_valid"),
            models.CheckConstraint(
                condition=Q(duration_seconds__isnull=True) | Q(duration_seconds__gte=0), name="agent_task_history_duration_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(confidence_score__isnull=True) | Q(confidence_score__gte=0, confidence_score__lte=1),
                name="agent_task_history_confidence_range",
            ),
            models.CheckConstraint(condition=Q(llm_calls_count__gte=0), name="agent_task_history_llm_calls_nonneg"),
            models.CheckConstraint(condition=Q(thinking_phases_count__gte=0), name="agent_task_history_thinking_nonneg"),
            models.CheckConstraint(
                condition=Q(memory_usage_mb__isnull=True) | Q(memory_usage_mb__gte=0), name="agent_task_history_memory_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True) | Q(completed_at__gte=F("started_at")),
                name="agent_task_history_completed_after_started",
            ),
            # The roll-up counts on these two staying in step: a finished task has an end
            # time and an outcome, an unfinished one has neither.
            models.CheckConstraint(
                condition=(Q(status__in=FINISHED_TASK_STATUSES) & Q(completed_at__isnull=False))
                | (~Q(status__in=FINISHED_TASK_STATUSES) & Q(completed_at__isnull=True)),
                name="agent_task_history_finished_has_completed_at",
            ),
            models.CheckConstraint(
                # "success IS NOT NULL" keeps a NULL outcome from making the check unknown (= passing).
                condition=(Q(status=AgentTaskStatus.COMPLETED) & Q(success__isnull=False) & Q(success=True))
                | (Q(status__in=UNSUCCESSFUL_TASK_STATUSES) & Q(success__isnull=False) & Q(success=False))
                | (~Q(status__in=FINISHED_TASK_STATUSES) & Q(success__isnull=True)),
                name="agent_task_history_success_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["flow", "started_at"], name="agent_task_flow_started_idx"),
            models.Index(fields=["client_account", "started_at"], name="agent_task_client_started_idx"),
            # A page of an engagement's history, newest first (the admin and API path).
            models.Index(fields=["client_account", "engagement", "-started_at"], name="agent_task_eng_started_idx"),
            # The platform-wide daily roll-up selects one day of every tenant.
            models.Index(fields=["started_at"], name="agent_task_started_idx"),
            models.Index(fields=["client_account", "agent_name", "-started_at"], name="agent_task_agent_started_idx"),
            models.Index(fields=["task_id"], name="agent_task_task_id_idx"),
        ]

    def __str__(self):
        return f"{self.agent_name}: {self.task_name} ({self.status})"


class AgentPerformanceDaily(TenantModel):
    """One agent's day in one engagement, rolled up from agent_task_history.

    Written only by ``agent_performance_daily_rollup``; a task counts on the UTC day it
    started.
    """

    agent_name = models.CharField(max_length=150)
    date_recorded = models.DateField()
    tasks_attempted = models.IntegerField(default=0)
    tasks_completed = models.IntegerField(default=0)
    tasks_failed = models.IntegerField(default=0)
    avg_duration_seconds = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    avg_confidence_score = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    success_rate = models.DecimalField(max_digits=5, decimal_places=2, default=0, help_text="Percent of attempted tasks completed.")
    total_llm_calls = models.BigIntegerField(default=0)
    total_tokens_used = models.BigIntegerField(default=0)

    class Meta:
        db_table = "agent_performance_daily"
        ordering = ["-date_recorded", "agent_name"]
        verbose_name_plural = "agent performance (daily)"
        constraints = TenantModel.Meta.constraints + [
            models.UniqueConstraint(
                fields=["agent_name", "date_recorded", "client_account", "engagement"], name="agent_performance_daily_key"
            ),
            models.CheckConstraint(condition=Q(tasks_attempted__gte=0), name="agent_performance_daily_attempted_nonneg"),
            models.CheckConstraint(condition=Q(tasks_completed__gte=0), name="agent_performance_daily_completed_nonneg"),
            models.CheckConstraint(condition=Q(tasks_failed__gte=0), name="agent_performance_daily_failed_nonneg"),
            models.CheckConstraint(
                condition=Q(tasks_attempted__gte=F("tasks_completed") + F("tasks_failed")),
                name="agent_performance_daily_outcomes_le_attempted",
            ),
            models.CheckConstraint(
                condition=Q(success_rate__gte=0, success_rate__lte=100), name="agent_performance_daily_success_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(avg_duration_seconds__isnull=True) | Q(avg_duration_seconds__gte=0),
                name="agent_performance_daily_avg_duration_nonneg",
            ),
            models.CheckConstraint(
                condition=Q(avg_confidence_score__isnull=True) | Q(avg_confidence_score__gte=0, avg_confidence_score__lte=1),
                name="agent_performance_daily_avg_confidence_range",
            ),
            models.CheckConstraint(condition=Q(total_llm_calls__gte=0), name="agent_performance_daily_llm_calls_nonneg"),
            models.CheckConstraint(condition=Q(total_tokens_used__gte=0), name="agent_performance_daily_tokens_nonneg"),
        ]
        indexes = [
            models.Index(fields=["client_account", "date_recorded"], name="agent_perf_client_date_idx"),
            models.Index(fields=["client_account", "agent_name", "-date_recorded"], name="agent_perf_agent_date_idx"),
        ]

    def __str__(self):
        return f"{self.agent_name} on {self.date_recorded}"
