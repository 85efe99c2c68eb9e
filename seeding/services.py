"""The seeder: build every model's rows for the seeded tenants, in one platform transaction.

Idempotence: every id, value and time derives from (seed, tenant position, purpose) and
the seed's reference time, and a run *replaces* its tenants: inside one transaction it
deletes every row of the tenants it is about to seed, then writes them afresh. Running
it twice therefore leaves the same rows (same ids), never twice the rows, and a failed
run leaves the previous data untouched. ``reset`` additionally removes every tenant an
earlier run seeded (marked in client_accounts.settings) that this run does not seed.
Global reference rows (LLM prices, platform adapters, the seeded users) are upserted by
their natural keys and never deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.apps import apps
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q

from modernize.agents.models import AgentPerformanceDaily, AgentTaskHistory
from modernize.agents.services import agent_performance_daily_rollup
from modernize.flows.models import MasterFlow
from modernize.llm.models import LLMUsageLog, LLMUsageSummary, PeriodType
from modernize.llm.services import llm_usage_summary_rollup
from modernize.platforms.models import (
    CredentialAccessLog,
    CredentialPermission,
    CredentialRotationHistory,
    PlatformAdapter,
    PlatformCredential,
)
from modernize.security.models import RoleChangeApproval, SecurityAuditLog
from patterns.embedders import get_embedder
from patterns.models import AgentDiscoveredPattern
from seeding import generation
from seeding.bulk import BulkLoader, BulkLoadMode, model_columns
from seeding.constants import (
    DEFAULT_SEED,
    DEMO_PASSWORD,
    PLATFORM_ADMIN_EMAIL,
    PROFILES,
    SEEDED_BY_KEY,
    SEEDED_BY_VALUE,
    TenantSpec,
    reference_time,
    tenant_specs,
)
from tenancy.context import OWNER_ALIAS, platform_context
from tenancy.models import ApiToken, ClientAccount, ClientMembership, Engagement, EngagementAssignment, User

# When a run brings at least as many rows of a fact table as the table holds (and at
# least this many), the table's foreign keys and secondary indexes (the HNSW index among
# them) are dropped before the load and recreated after: building once is far faster
# than maintaining them row by row. A small seed next to a big table inserts instead.
INDEX_REBUILD_MIN_PATTERNS = 500
BULK_MODE_MIN_ROWS = 20_000
EMBEDDING_BATCH = 4096


class SeedRefused(RuntimeError):
    """The seeder will not run as asked (known-password users with DEBUG off, bad sizes)."""


@dataclass
class ModelStat:
    rows: int = 0
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class SeedReport:
    profile: str
    seed: int
    reference_time: dt.datetime
    tenants: list[TenantSpec]
    dry_run: bool
    stats: dict[str, ModelStat] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    removed_rows: int = 0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(s.rows for s in self.stats.values())


def seed_profile(name: str, *, tenants: int | None = None, patterns: int | None = None):
    """The named profile with --tenants/--patterns applied; SeedRefused for an unknown name or bad size."""
    if name not in PROFILES:
        raise SeedRefused(f"Unknown profile {name!r}; choose one of {', '.join(PROFILES)}.")
    profile = PROFILES[name]
    if tenants is not None:
        if tenants < 1:
            raise SeedRefused("--tenants must be at least 1.")
        profile = dataclasses.replace(profile, tenants=tenants)
    if patterns is not None:
        if patterns < 0:
            raise SeedRefused("--patterns cannot be negative.")
        profile = dataclasses.replace(profile, patterns=patterns)
    return profile


def _tenant_models() -> list:
    """Every model with a client account column, children before parents (the delete order)."""
    models = [m for m in apps.get_models() if any(f.name == "client_account" for f in m._meta.concrete_fields)]
    models.append(ClientAccount)
    remaining = list(dict.fromkeys(models))
    ordered = []
    while remaining:
        for model in remaining:
            referenced_by_remaining = any(
                f.related_model is model and other is not model
                for other in remaining
                for f in other._meta.concrete_fields
                if f.is_relation
            )
            if not referenced_by_remaining:
                ordered.append(model)
                remaining.remove(model)
                break
        else:
            raise RuntimeError(f"Cannot order tenant tables for deletion: {[m.__name__ for m in remaining]}")
    return ordered


def seeded_tenants_remove(*, client_account_ids: list) -> int:
    """Delete every row of these client accounts (every tenant table, children first); return the count.

    Runs inside platform_context (the owner's ``platform_owner`` policy). Global rows and
    users stay. Raises RuntimeError outside platform_context.
    """
    from tenancy.context import current_platform

    if current_platform() is None:
        raise RuntimeError("seeded_tenants_remove works across tenants: call it inside platform_context.")
    ids = [str(i) for i in client_account_ids]
    if not ids:
        return 0
    removed = 0
    with connections[OWNER_ALIAS].cursor() as cursor:
        for model in _tenant_models():
            column = "id" if model is ClientAccount else "client_account_id"
            cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE "{column}" = ANY(%s::uuid[])', [ids])
            removed += cursor.rowcount
    return removed


def seeded_tenant_ids() -> list[uuid.UUID]:
    """Client accounts an earlier run of the seeder created (marked in their settings)."""
    return list(
        ClientAccount.objects.filter(**{f"settings__{SEEDED_BY_KEY}": SEEDED_BY_VALUE}).order_by("id").values_list("id", flat=True)
    )


def _reference_data_upsert() -> None:
    """Insert the shipped LLM prices and platform adapters that are missing (by natural key)."""
    prices = importlib.import_module("modernize.llm.migrations.0003_model_pricing_data")
    adapters = importlib.import_module("modernize.platforms.migrations.0003_platform_adapter_registry")
    prices.load_prices(apps, _AliasEditor())
    adapters.ship_registry(apps, _AliasEditor())


class _AliasEditor:
    """The piece of a schema editor the data-migration loaders use: the owner connection."""

    @property
    def connection(self):
        return connections[OWNER_ALIAS]


def _active_adapters() -> dict:
    adapters = {}
    for adapter in PlatformAdapter.objects.filter(status="active").order_by("adapter_name", "-version"):
        adapters.setdefault(adapter.adapter_name, adapter)
    return adapters


def _users_upsert(rows: list[dict]) -> dict[str, uuid.UUID]:
    """Insert or update the seeded users by email; return email -> id as stored."""
    columns = model_columns(User)
    updated = ["first_name", "last_name", "password", "is_active", "is_staff", "is_superuser", "is_platform_admin"]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connections[OWNER_ALIAS].cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            cursor.execute(
                f'INSERT INTO users ({", ".join(columns)}) VALUES {", ".join([placeholders] * len(chunk))} '
                f"ON CONFLICT (email) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in updated)}",
                [row[c] for row in chunk for c in columns],
            )
        cursor.execute("SELECT email, id FROM users WHERE email = ANY(%s)", [[row["email"] for row in rows]])
        return dict(cursor.fetchall())


def _seeded_tokens_remove(user_ids: list) -> None:
    """A re-run replaces the API tokens it issued earlier to these users (and only those)."""
    with connections[OWNER_ALIAS].cursor() as cursor:
        cursor.execute(
            "DELETE FROM api_tokens WHERE user_id = ANY(%s::uuid[]) AND key_prefix LIKE %s",
            [[str(u) for u in user_ids], generation.SEEDED_TOKEN_PREFIX + "%"],
        )


def _remap_users(rows: list[dict], mapping: dict) -> None:
    """Point user references at the stored ids of users that existed before the seeder."""
    if not mapping:
        return
    for row in rows:
        for key, value in row.items():
            if key.endswith("_id") and value in mapping:
                row[key] = mapping[value]


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


class _Run:
    def __init__(self, report: SeedReport, progress: Callable[[str], None] | None):
        self.report = report
        self.progress = progress or (lambda message: None)

    def stat(self, model) -> ModelStat:
        return self.report.stats.setdefault(model._meta.db_table, ModelStat())

    def record(self, rows_by_model: dict, seconds: float, tenant: str | None = None) -> None:
        total = sum(len(rows) if isinstance(rows, list) else rows for rows in rows_by_model.values()) or 1
        for model, rows in rows_by_model.items():
            n = len(rows) if isinstance(rows, list) else rows
            stat = self.stat(model)
            stat.rows += n
            stat.seconds += seconds * n / total
            where = f"[{tenant}] " if tenant else ""
            self.progress(f"  {where}{model._meta.db_table}: {n:,} rows")

    def phase(self, name: str, seconds: float) -> None:
        self.report.phases[name] = self.report.phases.get(name, 0.0) + seconds


def seed_comprehensive(
    *,
    profile: str = "demo",
    seed: int = DEFAULT_SEED,
    tenants: int | None = None,
    patterns: int | None = None,
    reset: bool = False,
    dry_run: bool = False,
    allow_demo_users: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Seed the profile's tenants with interconnected data for every model; return what was written.

    One platform_context transaction: it replaces the tenants' rows (see the module
    docstring), upserts reference data and users, bulk-loads the facts, runs the roll-up
    services, rebuilds keys and indexes after a large load and ANALYZEs. ``dry_run``
    generates everything (without embeddings) and rolls back. Raises SeedRefused when DEBUG
    is off and ``allow_demo_users`` is not given (the login users share a published
    password), or for a bad profile or size.
    """
    started = time.monotonic()
    chosen = seed_profile(profile, tenants=tenants, patterns=patterns)
    if not dry_run and not settings.DEBUG and not allow_demo_users:
        raise SeedRefused(
            "DEBUG is off: refusing to create users with the documented development password. "
            "Run with DEBUG=1, or pass --allow-demo-users if this database really is a demo."
        )
    specs = tenant_specs(chosen.tenants)
    now = reference_time(seed)
    report = SeedReport(profile=chosen.name, seed=seed, reference_time=now, tenants=specs, dry_run=dry_run)
    run = _Run(report, progress)
    reason = f"seed_comprehensive: {chosen.name} profile, seed {seed}, {len(specs)} tenants" + (" (dry run)" if dry_run else "")
    with platform_context(reason=reason):
        _seed(run, chosen, seed, now, specs, reset=reset, dry_run=dry_run)
        if dry_run:
            transaction.set_rollback(True, using=OWNER_ALIAS)
    report.seconds = time.monotonic() - started
    return report


def _seed(run: _Run, profile, seed: int, now: dt.datetime, specs: list[TenantSpec], *, reset: bool, dry_run: bool) -> None:
    t0 = time.monotonic()
    _reference_data_upsert()
    start = now - dt.timedelta(days=profile.activity_days)
    ctx = generation.RunContext(
        seed=seed,
        profile=profile,
        now=now,
        pricing=generation.PricingTable(start - dt.timedelta(days=1), now + dt.timedelta(days=1)),
        adapters=_active_adapters(),
        password_hash=generation.demo_password_hash(seed, DEMO_PASSWORD),
        platform_admin_id=generation.user_id_for(PLATFORM_ADMIN_EMAIL),
    )
    run.phase("reference data", time.monotonic() - t0)

    ids = [spec.id for spec in specs]
    remove = sorted(set(ids) | (set(seeded_tenant_ids()) if reset else set()))
    bulk = BulkLoadMode()
    if not dry_run:
        # Before the removal, so that deleting a re-run's old rows checks no keys either.
        t0 = time.monotonic()
        truncated = 0
        for model, planned in _planned_rows(profile).items():
            kept = model.objects.exclude(client_account_id__in=remove).count()
            threshold = INDEX_REBUILD_MIN_PATTERNS if model is AgentDiscoveredPattern else BULK_MODE_MIN_ROWS
            if planned >= max(threshold, kept):
                bulk.drop(model._meta.db_table)  # holds the table's exclusive lock from here
                if not model.objects.exclude(client_account_id__in=remove).exists():
                    # Every row is a replaced tenant's (these fact tables have no incoming
                    # keys): TRUNCATE leaves no dead tuples for the index builds to scan.
                    truncated += model.objects.count()
                    with connections[OWNER_ALIAS].cursor() as cursor:
                        cursor.execute(f'TRUNCATE "{model._meta.db_table}"')
        run.phase("drop keys and indexes of bulk-loaded tables", time.monotonic() - t0)
        t0 = time.monotonic()
        run.report.removed_rows = truncated + seeded_tenants_remove(client_account_ids=remove)
        run.phase("remove previous rows", time.monotonic() - t0)

    # The tenant graphs first: they name every user, and users are upserted in one go.
    t0 = time.monotonic()
    worlds = [generation.TenantWorld(position=position, spec=spec, ctx=ctx) for position, spec in enumerate(specs, start=1)]
    for world in worlds:
        generation.build_graph(world)
    users = [generation.platform_admin_row(ctx)] + [u for w in worlds for u in w.users]
    stored = _users_upsert(users) if not dry_run else {u["email"]: u["id"] for u in users}
    mapping = {u["id"]: stored[u["email"]] for u in users if stored[u["email"]] != u["id"]}
    ctx.platform_admin_id = stored[PLATFORM_ADMIN_EMAIL]
    if not dry_run:
        _seeded_tokens_remove(list(stored.values()))
    run.record({User: users}, time.monotonic() - t0)

    loader = None if dry_run else BulkLoader()
    try:
        per_tenant = [profile.patterns // len(worlds) + (1 if i < profile.patterns % len(worlds) else 0) for i in range(len(worlds))]
        _generate_and_load(run, worlds, per_tenant, loader, mapping, dry_run=dry_run)
    finally:
        if loader is not None:
            loader.close()
            for table, seconds in loader.insert_seconds.items():
                if seconds > 0.5:
                    run.phase(f"insert {table}", seconds)
                    run.phase(f"copy {table}", loader.copy_seconds[table])
    bulk_tables = [table for table, _, _ in bulk.saved]
    if bulk.saved:
        t0 = time.monotonic()
        bulk.restore(on_index=lambda table, name, seconds: run.phase(f"index {name}", seconds) if seconds > 2 else None)
        run.phase("recreate keys and indexes", time.monotonic() - t0)
    if dry_run:
        return

    # After a bulk load the tables changed wholesale: fresh statistics now (the roll-ups'
    # queries are planned with them), not at autovacuum's leisure. A small seed next to
    # big tables is autovacuum's to analyze.
    _analyze(run, list(run.report.stats) if bulk_tables else [])
    _rollups(run, ctx, ids)
    _analyze(run, [AgentPerformanceDaily._meta.db_table, LLMUsageSummary._meta.db_table] if bulk_tables else [])


def _analyze(run: _Run, tables: list[str]) -> None:
    t0 = time.monotonic()
    with connections[OWNER_ALIAS].cursor() as cursor:
        for table in tables:
            cursor.execute(f'ANALYZE "{table}"')
    run.phase("analyze", time.monotonic() - t0)


@dataclass
class _Batch:
    """Rows of some models generated together, with the seconds their generation took."""

    models: tuple
    rows: tuple
    seconds: float


def _tenant_batches(run: _Run, world: generation.TenantWorld, pattern_count: int, *, dry_run: bool) -> list[_Batch]:
    """Generate one tenant's rows, model by model (no database access: runs in the producer thread)."""
    batches = []

    def step(generate, *models):
        t = time.monotonic()
        produced = generate()
        produced = produced if isinstance(produced, tuple) else (produced,)
        batches.append(_Batch(models, produced, time.monotonic() - t))

    step(lambda: ([world.account],), ClientAccount)
    approvals, role_events = generation.role_changes(world)  # settles the memberships' final roles
    step(lambda: (world.engagements, world.memberships, world.assignments), Engagement, ClientMembership, EngagementAssignment)
    step(lambda: list(generation.flows(world)), MasterFlow)
    step(lambda: generation.tasks_and_calls(world), AgentTaskHistory, LLMUsageLog)
    credentials = generation.credentials(world)
    step(
        lambda: (credentials["credentials"], credentials["access_logs"], credentials["rotations"], credentials["permissions"]),
        PlatformCredential, CredentialAccessLog, CredentialRotationHistory, CredentialPermission,
    )
    step(lambda: approvals, RoleChangeApproval)
    step(lambda: role_events + credentials["events"] + generation.security_activity(world), SecurityAuditLog)
    step(lambda: world.api_tokens, ApiToken)

    def patterns():
        drafts = generation.pattern_drafts(world, pattern_count)
        if not dry_run:
            embed_started = time.monotonic()
            _embed(drafts)
            run.phase("embedding", time.monotonic() - embed_started)
        return [d.row for d in drafts]

    step(patterns, AgentDiscoveredPattern)
    return batches


def _generate_and_load(run: _Run, worlds: list, pattern_counts: list, loader: BulkLoader | None, mapping: dict, *, dry_run: bool) -> None:
    """Generate tenant k+1 in a thread while tenant k is loaded.

    The loader spends most of its time waiting for PostgreSQL (GIL released), which
    leaves the second core to generation and embedding. Each tenant is generated in
    order by the one producer thread, so the content is the same as sequentially; the
    database is touched by this (the context's) thread only.
    """
    batches: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_over(item) -> None:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def produce():
        try:
            for world, count in zip(worlds, pattern_counts):
                if stop.is_set():
                    return
                hand_over((world, _tenant_batches(run, world, count, dry_run=dry_run)))
        except BaseException as error:  # re-raised by the consumer
            hand_over(error)
            return
        hand_over(None)

    producer = threading.Thread(target=produce, name="seed-generator", daemon=True)
    producer.start()
    try:
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            world, tenant_batches = item
            for batch in tenant_batches:
                started = time.monotonic()
                for model, rows in zip(batch.models, batch.rows):
                    if loader is not None:
                        _remap_users(rows, mapping)
                        columns = model_columns(model)
                        loader.load(model, ([row[c] for c in columns] for row in rows))
                run.record(dict(zip(batch.models, batch.rows)), batch.seconds + time.monotonic() - started, tenant=world.spec.name)
    finally:
        stop.set()
        producer.join()


def _planned_rows(profile) -> dict:
    """Rough row counts of the fact tables a run loads (to choose the bulk path)."""
    engagements = profile.tenants * profile.engagements_per_tenant
    tasks = engagements * profile.flows_per_engagement * 24
    people = profile.tenants * (profile.staff_per_tenant + 4)
    return {
        AgentTaskHistory: tasks,
        LLMUsageLog: tasks * 5 // 2,
        SecurityAuditLog: int(people * profile.activity_days / 7 * profile.active_days_per_user_week * 2.5),
        CredentialAccessLog: int(engagements * profile.credentials_per_engagement * profile.activity_days / 7 * profile.credential_accesses_per_week),
        AgentDiscoveredPattern: profile.patterns,
    }


def _embed(drafts: list) -> None:
    embedder = get_embedder()
    todo = [d for d in drafts if d.embed]
    for start in range(0, len(todo), EMBEDDING_BATCH):
        batch = todo[start : start + EMBEDDING_BATCH]
        vectors = np.asarray(embedder.embed_texts([d.text for d in batch]), dtype=np.float32)
        for draft, vector in zip(batch, vectors):
            draft.row["embedding"] = vector
            draft.row["embedding_model"] = embedder.model_name


def _others_have_rows(ids: list, checks: list[tuple]) -> bool:
    """Whether a client account outside ``ids`` has a row in any (model, time filter) pair."""
    return any(model.objects.exclude(client_account_id__in=ids).filter(condition).exists() for model, condition in checks)


def _rollups(run: _Run, ctx: generation.RunContext, ids: list) -> None:
    """The roll-up services over every day, week and month of the window.

    One platform-wide call per period when no other tenant has facts or roll-ups in the
    window (the result is then the same as per tenant, at a fraction of the calls);
    otherwise one call per seeded tenant, so other tenants' roll-ups are not touched.
    """
    first, last = ctx.start.date() - dt.timedelta(days=1), ctx.now.date()
    # Weekly and monthly periods reach back before the first day.
    earliest = min(first.replace(day=1), first - dt.timedelta(days=first.weekday()))
    agent_shared = _others_have_rows(
        ids, [(AgentTaskHistory, Q(started_at__date__gte=first)), (AgentPerformanceDaily, Q(date_recorded__gte=first))]
    )
    llm_shared = _others_have_rows(
        ids, [(LLMUsageLog, Q(created_at__date__gte=earliest)), (LLMUsageSummary, Q(period_start__gte=earliest))]
    )
    days = _days(first, last)

    t0 = time.monotonic()
    scopes = ids if agent_shared else [None]
    for day in days:
        for client_id in scopes:
            agent_performance_daily_rollup(date=day, client_account_id=client_id)
    rows = AgentPerformanceDaily.objects.filter(client_account_id__in=ids).count()
    run.record({AgentPerformanceDaily: rows}, time.monotonic() - t0)

    t0 = time.monotonic()
    scopes = ids if llm_shared else [None]
    periods = [(PeriodType.DAILY, day) for day in days]
    periods += [(PeriodType.WEEKLY, day) for day in _days(first - dt.timedelta(days=first.weekday()), last) if day.isoweekday() == 1]
    periods += [(PeriodType.MONTHLY, day) for day in _days(first.replace(day=1), last) if day.day == 1]
    for period_type, period_start in periods:
        for client_id in scopes:
            llm_usage_summary_rollup(period_type=period_type, period_start=period_start, client_account_id=client_id)
    rows = LLMUsageSummary.objects.filter(client_account_id__in=ids).count()
    run.record({LLMUsageSummary: rows}, time.monotonic() - t0)
