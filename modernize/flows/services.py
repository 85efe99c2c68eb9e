"""Writes to master flows: phase transitions and error records.

Both lock the flow row (SELECT … FOR UPDATE) before appending to its JSON history, so two
agents reporting at once cannot overwrite each other's entries. Call them inside a tenant
context (or platform_context); they do not choose the tenant.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from modernize.flows.models import TERMINAL_FLOW_STATUSES, FlowStatus, MasterFlow

# Histories are kept bounded: the newest entries tell what matters, the table stays small.
PHASE_TRANSITIONS_KEPT = 100
ERROR_HISTORY_KEPT = 100


class FlowTransitionError(ValueError):
    """An invalid status, or a transition of a flow that has already finished."""


def _locked(flow: MasterFlow) -> MasterFlow:
    return MasterFlow.objects.select_for_update().get(pk=flow.pk)


def _copy_back(source: MasterFlow, target: MasterFlow, fields: list[str]) -> None:
    for name in fields:
        setattr(target, name, getattr(source, name))


@transaction.atomic
def master_flow_transition(*, flow: MasterFlow, to_phase: str, to_status: str | None = None, reason: str = "") -> MasterFlow:
    """Move ``flow`` to ``to_phase`` (and ``to_status`` when given) and log the transition.

    Appends ``{"from", "to", "at", "reason"}`` (plus ``"status"`` when it changes) to
    phase_transitions, keeping the newest PHASE_TRANSITIONS_KEPT entries. Updates and
    returns ``flow``. Raises FlowTransitionError for an unknown status or a flow that is
    completed or cancelled.
    """
    if to_status is not None and to_status not in FlowStatus.values:
        raise FlowTransitionError(f"Unknown flow status {to_status!r}; expected one of {', '.join(FlowStatus.values)}.")
    if not to_phase:
        raise FlowTransitionError("A transition needs a target phase.")
    current = _locked(flow)
    if current.flow_status in TERMINAL_FLOW_STATUSES:
        raise FlowTransitionError(f"Flow {current.flow_id} is {current.flow_status}; it takes no further transitions.")
    entry = {"from": current.current_phase or None, "to": to_phase, "at": timezone.now().isoformat(), "reason": reason}
    if to_status is not None and to_status != current.flow_status:
        entry["status"] = {"from": current.flow_status, "to": to_status}
        current.flow_status = to_status
    current.phase_transitions = [*current.phase_transitions, entry][-PHASE_TRANSITIONS_KEPT:]
    current.current_phase = to_phase
    fields = ["current_phase", "flow_status", "phase_transitions", "updated_at"]
    current.save(update_fields=fields)
    _copy_back(current, flow, fields)
    return flow


@transaction.atomic
def master_flow_error_record(
    *,
    flow: MasterFlow,
    error: str | BaseException,
    phase: str | None = None,
    agent_name: str = "",
    increment_retry: bool = False,
) -> MasterFlow:
    """Append an error to the flow's error_history and optionally count a retry.

    The entry is ``{"at", "phase", "error_type", "message", "agent", "retry_count"}``; the
    newest ERROR_HISTORY_KEPT entries are kept. ``phase`` defaults to the current phase.
    With ``increment_retry`` the flow's retry_count goes up by one (the entry records the
    new count). Updates and returns ``flow``.
    """
    current = _locked(flow)
    if increment_retry:
        current.retry_count += 1
    entry = {
        "at": timezone.now().isoformat(),
        "phase": phase if phase is not None else (current.current_phase or None),
        "error_type": type(error).__name__ if isinstance(error, BaseException) else "Error",
        "message": str(error),
        "agent": agent_name or None,
        "retry_count": current.retry_count,
    }
    current.error_history = [*current.error_history, entry][-ERROR_HISTORY_KEPT:]
    fields = ["error_history", "retry_count", "updated_at"]
    current.save(update_fields=fields)
    _copy_back(current, flow, fields)
    return flow
