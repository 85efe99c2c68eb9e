"""The one way to be in a tenant, and the one way out of it.

``tenant_context`` runs its body in a transaction of the runtime connection with
``app.client_id`` (and the user, role and allowed engagements) set by
``set_config(..., true)``: transaction-local, so a pooled connection (persistent
connections, PgBouncer in transaction mode) never carries it into the next request.

``platform_context`` is the only cross-tenant path: the owner connection (the router
sends every query there while it is active), recorded in security_audit_logs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, transaction

RUNTIME_ALIAS = "default"
OWNER_ALIAS = "owner"

# Assumed (SET LOCAL ROLE) by users limited to assigned engagements; see tenancy/rls.py.
RESTRICTED_ROLE = "application_restricted_role"


class TenantContextError(RuntimeError):
    """Raised when contexts are mixed: another tenant, or tenant inside platform."""


@dataclass(frozen=True)
class TenantState:
    client_account_id: str
    user_id: str | None = None
    role: str | None = None
    # None: every engagement of the client (admins, managers); a tuple: only these.
    engagement_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PlatformState:
    reason: str
    actor_id: str | None = field(default=None)


_tenant: ContextVar[TenantState | None] = ContextVar("modernize_tenant", default=None)
_platform: ContextVar[PlatformState | None] = ContextVar("modernize_platform", default=None)


def current_tenant() -> TenantState | None:
    """The tenant context in force, or None."""
    return _tenant.get()


def current_platform() -> PlatformState | None:
    """The platform context in force, or None."""
    return _platform.get()


def _uuid_text(value) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _engagement_array(engagement_ids: tuple[str, ...] | None) -> str:
    # '' means "no engagement restriction" to the policies (see tenancy/rls.py).
    if engagement_ids is None:
        return ""
    return "{" + ",".join(engagement_ids) + "}"


def _apply(values: dict[str, str]) -> dict[str, str] | None:
    """Set the settings transaction-locally; return the previous values when nested.

    One statement: the previous values are read before they are replaced (PostgreSQL
    evaluates a target list left to right).
    """
    connection = connections[RUNTIME_ALIAS]
    nested = connection.in_atomic_block and len(connection.savepoint_ids) > 0
    names = list(values)
    with connection.cursor() as cursor:
        reads = ["current_setting(%s, true)"] * len(names) if nested else []
        cursor.execute(
            "SELECT " + ", ".join(reads + ["set_config(%s, %s, true)"] * len(names)),
            (names if nested else []) + [item for pair in values.items() for item in pair],
        )
        row = cursor.fetchone()
    return dict(zip(names, row[: len(names)])) if nested else None


@contextmanager
def session_user_context(user_id) -> Iterator[None]:
    """Sets only ``app.user_id``: enough to read one's own memberships, no tenant rows."""
    with transaction.atomic(using=RUNTIME_ALIAS):
        previous = _apply({"app.user_id": _uuid_text(user_id)})
        yield
        if previous is not None and not connections[RUNTIME_ALIAS].needs_rollback:
            _apply(previous)


@contextmanager
def authentication_lookup() -> Iterator[None]:
    """Lets the body read any user row (and nothing else extra): for login and sessions.

    The users table is under RLS: outside this, the runtime role sees only itself and the
    members of the tenant in context. Authentication must find a user before any tenant
    is known, so the backend and the token lookup run inside this.
    """
    with transaction.atomic(using=RUNTIME_ALIAS):
        previous = _apply({"app.auth_lookup": "on"})
        yield
        if previous is not None and not connections[RUNTIME_ALIAS].needs_rollback:
            _apply(previous)


@contextmanager
def tenant_context(
    client_account_id,
    *,
    user=None,
    role: str | None = None,
    engagement_ids: Iterable | None = None,
) -> Iterator[TenantState]:
    """Run the body inside one client account.

    Opens (or joins) a transaction on the runtime connection and sets the tenant settings
    at its start. Re-entering the same tenant joins it; entering another tenant, or any
    tenant inside ``platform_context``, raises TenantContextError.
    """
    if _platform.get() is not None:
        raise TenantContextError("tenant_context cannot be entered inside platform_context.")
    client_id = _uuid_text(client_account_id)
    active = _tenant.get()
    if active is not None:
        if active.client_account_id != client_id:
            raise TenantContextError(
                f"Already in the tenant context of client account {active.client_account_id}; "
                f"leave it before entering {client_id}."
            )
        with transaction.atomic(using=RUNTIME_ALIAS):
            yield active
        return

    user_id = None
    if user is not None:
        user_id = _uuid_text(getattr(user, "pk", user))
    state = TenantState(
        client_account_id=client_id,
        user_id=user_id,
        role=role,
        engagement_ids=None if engagement_ids is None else tuple(sorted(_uuid_text(e) for e in engagement_ids)),
    )
    token = _tenant.set(state)
    try:
        with transaction.atomic(using=RUNTIME_ALIAS):
            values = {
                "app.client_id": client_id,
                "app.user_id": user_id or "",
                "app.role": role or "",
                "app.engagement_ids": _engagement_array(state.engagement_ids),
                "statement_timeout": str(settings.DB_STATEMENT_TIMEOUT_MS),
            }
            if state.engagement_ids is not None:
                # Only the restricted role carries the engagement policy, so unrestricted
                # users plan exactly like tenant-only queries.
                values["role"] = RESTRICTED_ROLE
            previous = _apply(values)
            yield state
            if previous is not None and not connections[RUNTIME_ALIAS].needs_rollback:
                _apply(previous)
    finally:
        _tenant.reset(token)


@contextmanager
def platform_context(*, reason: str, actor=None, audit: bool = True) -> Iterator[PlatformState]:
    """Work across tenants through the owner connection, for platform jobs and admins.

    Every query of the body goes to the owner connection (see tenancy.routers), inside one
    transaction. The entry is written to security_audit_logs with the reason unless
    ``audit=False`` (used only by the audit writer itself). Raises TenantContextError when
    a tenant context is active.
    """
    if not reason or not reason.strip():
        raise ValueError("platform_context needs a reason.")
    if _tenant.get() is not None:
        raise TenantContextError("platform_context cannot be entered inside a tenant context.")
    active = _platform.get()
    if active is not None:
        with transaction.atomic(using=OWNER_ALIAS):
            yield active
        return
    actor_id = None if actor is None else _uuid_text(getattr(actor, "pk", actor))
    state = PlatformState(reason=reason, actor_id=actor_id)
    token = _platform.set(state)
    try:
        with transaction.atomic(using=OWNER_ALIAS):
            if audit:
                from modernize.security.services import platform_access_record

                platform_access_record(reason=reason, actor_id=actor_id)
            yield state
    finally:
        _platform.reset(token)
