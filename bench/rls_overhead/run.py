"""RLS overhead: the same five queries as the owner without RLS and as the runtime role with RLS.

Method
  * A scratch database ``bench_rls`` is created by the owner, migrated, and filled with
    synthetic rows (5 tenants holding 40/25/15/12/8 % of every table): 100K patterns with
    clustered 1536-d embeddings (HNSW index built after the load), 200K task-history rows,
    200K LLM usage rows, 5K credentials, 1K master flows.
  * The owner baseline: tenant tables are set ``NO FORCE ROW LEVEL SECURITY`` in this scratch
    database, so the owner (table owner) is not subject to RLS at all; its queries carry the
    explicit ``client_account_id = $1`` filter an application without RLS would need.
    The runtime role keeps RLS enabled with the production policies and runs the query
    *without* a tenant filter: the policy adds it.
  * Interleaved: each round runs every configuration once per query, in rotating order,
    on warm caches. Reported: median and p95 of server execution time
    (client-measured round trip of the query alone; the context's set_config is measured
    separately), and the median ratio runtime/owner per query.
  * Configurations: ``owner`` (no RLS), ``tenant_only`` (runtime role, engagement policies
    dropped for the phase), ``rls_admin`` (runtime, all policies, client admin: no
    engagement restriction) and ``rls_analyst`` (runtime, all policies, analyst assigned to
    two engagements incl. the queried one, as application_restricted_role like
    tenancy.context sets it).
  * EXPLAIN (ANALYZE, BUFFERS) of every runtime query is saved; the tenant predicate is
    checked to be part of an ``Index Cond``.

Run: .venv/bin/python bench/rls_overhead/run.py [--rounds 60] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modernize.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from tenancy.checks import engagement_tables, tenant_tables  # noqa: E402
from tenancy.rls import engagement_rls_sql  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DB_NAME = "bench_rls"
SHARES = [0.40, 0.25, 0.15, 0.12, 0.08]
MEASURED_TENANT = 2  # the 15 % tenant
N_PATTERNS, N_TASKS, N_LLM, N_CREDENTIALS, FLOWS_PER_ENGAGEMENT, ENGAGEMENTS_PER_TENANT = 100_000, 200_000, 200_000, 5_000, 50, 4
DIM = 1536


def conninfo(role: str, dbname: str = DB_NAME) -> str:
    db = settings.DATABASES["owner" if role == "owner" else "default"]
    return f"host={db['HOST']} port={db['PORT']} dbname={dbname} user={db['USER']} password={db['PASSWORD']}"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def create_database(keep: bool) -> bool:
    """Create and migrate bench_rls; return False when a kept one already holds the data."""
    with psycopg.connect(conninfo("owner", "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if exists and keep:
            return False
        if exists:
            conn.execute(f"DROP DATABASE {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    settings.DATABASES["owner"]["NAME"] = DB_NAME
    settings.DATABASES["default"]["NAME"] = DB_NAME
    call_command("migrate", database="owner", verbosity=0)
    return True


def load(conn: psycopg.Connection) -> dict:
    rng = np.random.default_rng(20261204)
    counts = {}
    for table in tenant_tables():
        conn.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
    tenants = [uuid.UUID(int=int(rng.integers(0, 2**62)) << 64 | int(rng.integers(0, 2**62)), version=4) for _ in SHARES]
    engagements = {}
    with conn.cursor() as cur:
        for i, tenant in enumerate(tenants):
            cur.execute(
                "INSERT INTO client_accounts (id, created_at, updated_at, name, slug, industry, company_size, subscription_tier, max_users, max_engagements, features_enabled, settings, agent_preferences, business_objectives, is_active)"
                " VALUES (%s, now(), now(), %s, %s, 'technology', 'large', 'enterprise', 100, 50, '{}', '{}', '{}', '[]', true)",
                [tenant, f"Bench tenant {i}", f"bench-{i}"],
            )
            engagements[tenant] = []
            for j in range(ENGAGEMENTS_PER_TENANT):
                eid = uuid.uuid4()
                cur.execute(
                    "INSERT INTO engagements (id, created_at, updated_at, client_account_id, name, slug, engagement_type, status, priority, migration_scope, is_active)"
                    " VALUES (%s, now(), now(), %s, %s, %s, 'migration', 'active', 'high', '{}', true)",
                    [eid, tenant, f"Engagement {j}", f"e-{i}-{j}"],
                )
                engagements[tenant].append(eid)
    counts["client_accounts"], counts["engagements"] = len(tenants), sum(len(v) for v in engagements.values())

    def tenant_of(n: int) -> np.ndarray:
        return rng.choice(len(SHARES), size=n, p=SHARES)

    # Master flows: FLOWS_PER_ENGAGEMENT per engagement, through SQL.
    conn.execute(
        f"""
        INSERT INTO crewai_flow_state_extensions (id, created_at, updated_at, client_account_id, engagement_id, flow_id, flow_type, flow_name,
            flow_status, current_phase, flow_configuration, flow_persistence_data, phase_transitions, error_history, agent_collaboration_log,
            learning_patterns, retry_count)
        SELECT gen_random_uuid(), now() - (g || ' hours')::interval, now(), e.client_account_id, e.id, gen_random_uuid(), 'discovery',
            'Discovery flow ' || g, 'active', 'asset_inventory', '{{}}', '{{}}', '[]', '[]', '[]', '{{}}', 0
        FROM engagements e CROSS JOIN generate_series(1, {FLOWS_PER_ENGAGEMENT}) g
        """
    )
    counts["crewai_flow_state_extensions"] = conn.execute("SELECT count(*) FROM crewai_flow_state_extensions").fetchone()[0]

    # Tasks and LLM usage: share-weighted tenants, random flow of the tenant, via SQL.
    for table, n in (("agent_task_history", N_TASKS), ("llm_usage_logs", N_LLM)):
        conn.execute("CREATE TEMP TABLE picks (n int, tenant int)")
        with conn.cursor().copy("COPY picks (n, tenant) FROM STDIN") as copy:
            for n_i, t in enumerate(tenant_of(n)):
                copy.write_row((n_i, int(t)))
        conn.execute(
            "CREATE TEMP TABLE tenant_ids (tenant int, id uuid); "
            + "; ".join(f"INSERT INTO tenant_ids VALUES ({i}, '{t}')" for i, t in enumerate(tenants))
        )
        flows = (
            "JOIN (SELECT client_account_id, array_agg(id ORDER BY id) AS ids FROM crewai_flow_state_extensions GROUP BY 1) tf"
            " ON tf.client_account_id = ti.id"
            " JOIN crewai_flow_state_extensions f ON f.id = tf.ids[1 + (p.n * 7919) % cardinality(tf.ids)]"
        )
        if table == "agent_task_history":
            conn.execute(
                f"""
                INSERT INTO agent_task_history (id, created_at, updated_at, client_account_id, engagement_id, flow_id, agent_name, agent_type, task_id,
                    task_name, task_description, started_at, completed_at, duration_seconds, status, success, result_preview, error_message,
                    confidence_score, llm_calls_count, thinking_phases_count, token_usage, memory_usage_mb)
                SELECT gen_random_uuid(), s, s, f.client_account_id, f.engagement_id, f.id, 'Asset Inventory Agent', 'crew_member', 'task-' || p.n,
                    'Inventory servers', 'Classify discovered servers', s, s + interval '42 seconds', 42, 'completed', true, 'ok', '',
                    0.9, 3, 2, '{{"input": 1200, "output": 300, "total": 1500}}', 256
                FROM picks p JOIN tenant_ids ti ON ti.tenant = p.tenant
                {flows}
                CROSS JOIN LATERAL (SELECT now() - ((p.n % 525600) || ' minutes')::interval AS s) t
                """
            )
        else:
            conn.execute(
                f"""
                INSERT INTO llm_usage_logs (id, created_at, updated_at, client_account_id, engagement_id, flow_id, request_id, endpoint, page_context,
                    feature_context, llm_provider, model_name, model_version, input_tokens, output_tokens, total_tokens, input_cost, output_cost,
                    total_cost, currency, response_time_ms, success, error_type, error_message, request_metadata, response_metadata, user_agent)
                SELECT gen_random_uuid(), now() - ((p.n % 262800) || ' minutes')::interval, now(), f.client_account_id, f.engagement_id, f.id,
                    'req-' || p.n, '/v1/chat/completions', 'discovery', 'field_mapping', (ARRAY['openai','anthropic','google'])[1 + p.n % 3],
                    (ARRAY['gpt-4o','claude-sonnet-4','gemini-2.0-flash'])[1 + p.n % 3], '', 1000, 200, 1200, 0.0025, 0.002, 0.0045, 'USD',
                    800, true, '', '', '{{}}', '{{}}', ''
                FROM picks p JOIN tenant_ids ti ON ti.tenant = p.tenant {flows}
                """
            )
        conn.execute("DROP TABLE picks; DROP TABLE tenant_ids")
        counts[table] = n
        log(f"loaded {n} rows into {table}")

    adapters = [r[0] for r in conn.execute("SELECT id FROM platform_adapters ORDER BY adapter_name, version").fetchall()]
    with conn.cursor().copy(
        "COPY platform_credentials (id, created_at, updated_at, client_account_id, engagement_id, platform_adapter_id, credential_name,"
        " credential_type, vault_provider, encrypted_secret, encryption_key_id, status) FROM STDIN"
    ) as copy:
        for n, t in enumerate(tenant_of(N_CREDENTIALS)):
            tenant = tenants[int(t)]
            copy.write_row((uuid.uuid4(), "now", "now", tenant, engagements[tenant][n % ENGAGEMENTS_PER_TENANT], adapters[n % len(adapters)],
                            f"credential-{n}", "api_key", "local", b"\x00" * 64, "bench", "active"))
    counts["platform_credentials"] = N_CREDENTIALS

    # Patterns: clustered unit vectors (200 centres), binary COPY.
    centres = rng.standard_normal((200, DIM)).astype(np.float32)
    register_vector(conn)
    conn.execute("DROP INDEX IF EXISTS adp_embedding_ann_idx")
    started = time.perf_counter()
    with conn.cursor().copy(
        "COPY agent_discovered_patterns (id, created_at, updated_at, client_account_id, engagement_id, pattern_id, pattern_type, pattern_name,"
        " pattern_description, discovered_by_agent, task_id, confidence_score, evidence_count, times_referenced, pattern_data,"
        " execution_context, embedding, embedding_model, insight_type) FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["uuid", "timestamptz", "timestamptz", "uuid", "uuid", "varchar", "varchar", "varchar", "text", "varchar", "varchar",
                        "float8", "int4", "int4", "jsonb", "jsonb", "vector", "varchar", "varchar"])
        tenant_picks = tenant_of(N_PATTERNS)
        now = time.time()
        for n in range(N_PATTERNS):
            tenant = tenants[int(tenant_picks[n])]
            vector = centres[n % 200] + 0.35 * rng.standard_normal(DIM).astype(np.float32)
            vector /= np.linalg.norm(vector)
            created = datetime.fromtimestamp(now - n * 60, tz=timezone.utc)
            copy.write_row((uuid.uuid4(), created, created, tenant, engagements[tenant][n % ENGAGEMENTS_PER_TENANT], f"pattern-{n}",
                            "DEPENDENCY_PATTERN", f"Pattern {n}", "Synthetic pattern", "Dependency Analysis Agent", f"task-{n}", 0.8, 1, 0,
                            psycopg.types.json.Jsonb({}), psycopg.types.json.Jsonb({}), vector, "bench-synthetic", "workflow_improvement"))
    counts["agent_discovered_patterns"] = N_PATTERNS
    log(f"loaded {N_PATTERNS} patterns in {time.perf_counter() - started:.1f}s; building the HNSW index")
    started = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("CREATE INDEX adp_embedding_ann_idx ON agent_discovered_patterns USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)")
    counts["hnsw_build_seconds"] = round(time.perf_counter() - started, 1)
    log(f"HNSW built in {counts['hnsw_build_seconds']}s")
    conn.execute("ANALYZE")
    return {"tenants": [str(t) for t in tenants], "engagements": {str(k): [str(e) for e in v] for k, v in engagements.items()}, "counts": counts}


def queries(tenant: str, engagement: str, adapter: str, credential_name: str, query_vector) -> dict:
    """name -> (sql for the runtime role, sql for the owner, params)."""
    return {
        "patterns_of_engagement": (
            "SELECT id, pattern_name, confidence_score FROM agent_discovered_patterns WHERE engagement_id = %(e)s ORDER BY created_at DESC LIMIT 50",
            "SELECT id, pattern_name, confidence_score FROM agent_discovered_patterns WHERE client_account_id = %(t)s AND engagement_id = %(e)s ORDER BY created_at DESC LIMIT 50",
        ),
        "task_history_page": (
            "SELECT id, agent_name, status, started_at, duration_seconds FROM agent_task_history WHERE engagement_id = %(e)s ORDER BY started_at DESC LIMIT 50 OFFSET 100",
            "SELECT id, agent_name, status, started_at, duration_seconds FROM agent_task_history WHERE client_account_id = %(t)s AND engagement_id = %(e)s ORDER BY started_at DESC LIMIT 50 OFFSET 100",
        ),
        "monthly_llm_cost_per_model": (
            "SELECT date_trunc('month', created_at) AS month, llm_provider, model_name, sum(total_cost) FROM llm_usage_logs WHERE created_at >= now() - interval '6 months' GROUP BY 1, 2, 3",
            "SELECT date_trunc('month', created_at) AS month, llm_provider, model_name, sum(total_cost) FROM llm_usage_logs WHERE client_account_id = %(t)s AND created_at >= now() - interval '6 months' GROUP BY 1, 2, 3",
        ),
        "credential_lookup": (
            "SELECT id, status, expires_at FROM platform_credentials WHERE platform_adapter_id = %(a)s AND credential_name = %(n)s",
            "SELECT id, status, expires_at FROM platform_credentials WHERE client_account_id = %(t)s AND platform_adapter_id = %(a)s AND credential_name = %(n)s",
        ),
        "similarity_10nn": (
            "SELECT id, embedding <=> %(q)s AS d FROM agent_discovered_patterns ORDER BY embedding <=> %(q)s LIMIT 10",
            "SELECT id, embedding <=> %(q)s AS d FROM agent_discovered_patterns WHERE client_account_id = %(t)s ORDER BY embedding <=> %(q)s LIMIT 10",
        ),
    }, {"t": tenant, "e": engagement, "a": adapter, "n": credential_name, "q": query_vector}


def timed(conn, sql, params, *, context: list[tuple[str, str]] | None) -> float:
    """Run one query in its own transaction; return the query's milliseconds."""
    with conn.transaction():
        conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = 100")
        if context:
            conn.execute("SELECT " + ", ".join("set_config(%s, %s, true)" for _ in context), [x for pair in context for x in pair])
        started = time.perf_counter()
        conn.execute(sql, params).fetchall()
        return (time.perf_counter() - started) * 1000


def context_for(config: str, tenant: str, engagements: list[str]) -> list[tuple[str, str]] | None:
    if config == "owner":
        return None
    role = "analyst" if config == "rls_analyst" else "client_admin"
    restricted = "{" + ",".join(engagements[:2]) + "}" if config == "rls_analyst" else ""
    context = [("app.client_id", tenant), ("app.user_id", ""), ("app.role", role), ("app.engagement_ids", restricted)]
    if config == "rls_analyst":
        context.append(("role", "application_restricted_role"))  # as tenancy.context does
    return context


def measure(configs: list[str], conns: dict, qs: dict, params: dict, tenant: str, engagements: list[str], rounds: int) -> dict:
    samples = {name: {c: [] for c in configs} for name in qs}
    for r in range(rounds):
        for name, (runtime_sql, owner_sql) in qs.items():
            order = configs[r % len(configs):] + configs[: r % len(configs)]
            for config in order:
                sql = owner_sql if config == "owner" else runtime_sql
                samples[name][config].append(timed(conns[config], sql, params, context=context_for(config, tenant, engagements)))
    return samples


def set_engagement_policies(conn, present: bool) -> None:
    for table in engagement_tables():
        column = "id" if table == "engagements" else "engagement_id"
        nullable = conn.execute(
            "SELECT NOT attnotnull FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s", [table, column]
        ).fetchone()[0]
        forward, reverse = engagement_rls_sql(table, column=column, nullable=nullable, viewers_read_only=False)
        for statement in reverse:
            conn.execute(statement)
        if present:
            for statement in forward:
                conn.execute(statement)


def summarize(samples: dict, baseline: str = "owner") -> dict:
    out = {}
    for name, by_config in samples.items():
        out[name] = {}
        base = statistics.median(by_config[baseline])
        for config, values in by_config.items():
            values = sorted(values)
            median = statistics.median(values)
            out[name][config] = {
                "median_ms": round(median, 3),
                "p95_ms": round(values[int(len(values) * 0.95) - 1], 3),
                "ratio_to_owner": round(median / base, 3),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="reuse an existing bench_rls database")
    parser.add_argument("--scale", type=float, default=1.0, help="row counts x scale (1.0 = the documented sizes; smaller for a smoke run)")
    args = parser.parse_args()
    global N_PATTERNS, N_TASKS, N_LLM, N_CREDENTIALS
    N_PATTERNS, N_TASKS, N_LLM, N_CREDENTIALS = (int(n * args.scale) for n in (N_PATTERNS, N_TASKS, N_LLM, N_CREDENTIALS))
    RESULTS.mkdir(parents=True, exist_ok=True)

    fresh = create_database(args.keep)
    meta_file = RESULTS / "dataset.json"
    with psycopg.connect(conninfo("owner"), autocommit=True) as owner:
        if fresh or not meta_file.exists():
            log("loading data")
            meta = load(owner)
            meta_file.write_text(json.dumps(meta, indent=2))
        meta = json.loads(meta_file.read_text())
    tenant = meta["tenants"][MEASURED_TENANT]
    engagements = meta["engagements"][tenant]

    conns = {}
    for config in ("owner", "tenant_only", "rls_admin", "rls_analyst"):
        conns[config] = psycopg.connect(conninfo("owner" if config == "owner" else "runtime"), autocommit=True)
        register_vector(conns[config])
    owner = conns["owner"]
    adapter, name = owner.execute(
        "SELECT platform_adapter_id::text, credential_name FROM platform_credentials WHERE client_account_id = %s ORDER BY credential_name LIMIT 1",
        [tenant],
    ).fetchone()
    query_vector = owner.execute(
        "SELECT embedding FROM agent_discovered_patterns WHERE client_account_id <> %s ORDER BY id LIMIT 1", [tenant]
    ).fetchone()[0]
    qs, params = queries(tenant, engagements[0], adapter, name, query_vector)

    # Context-setting cost: the set_config round trip alone.
    context_ms = sorted(
        timed(conns["rls_admin"], "SELECT 1", {}, context=context_for("rls_admin", tenant, engagements)) for _ in range(200)
    )

    log("warming up")
    measure(["owner", "rls_admin"], conns, qs, params, tenant, engagements, 5)
    log("phase 1: tenant-only policies (engagement policies dropped)")
    set_engagement_policies(owner, present=False)
    try:
        phase1 = measure(["owner", "tenant_only"], conns, qs, params, tenant, engagements, args.rounds)
    finally:
        set_engagement_policies(owner, present=True)
    log("phase 2: all policies (client admin, analyst)")
    phase2 = measure(["owner", "rls_admin", "rls_analyst"], conns, qs, params, tenant, engagements, args.rounds)

    explains = {}
    for name, (runtime_sql, _) in qs.items():
        for config in ("rls_admin", "rls_analyst"):
            with conns[config].transaction():
                conns[config].execute("SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = 100")
                context = context_for(config, tenant, engagements)
                conns[config].execute("SELECT " + ", ".join("set_config(%s, %s, true)" for _ in context), [x for pair in context for x in pair])
                plan = "\n".join(r[0] for r in conns[config].execute("EXPLAIN (ANALYZE, BUFFERS) " + runtime_sql, params).fetchall())
            plan = re.sub(r"'\[[-0-9.e,]+\]'::vector", "'[1536 values]'::vector", plan)
            explains[f"{name}.{config}"] = plan
            (RESULTS / f"explain_{name}_{config}.txt").write_text(plan + "\n")

    s1, s2 = summarize(phase1), summarize(phase2)
    result = {
        "method": __doc__.split("Run:")[0].strip(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "postgresql": owner.execute("SHOW server_version").fetchone()[0],
                    "pgvector": owner.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0],
                    "load_average": os.getloadavg()},
        "dataset": meta["counts"],
        "measured_tenant_share": SHARES[MEASURED_TENANT],
        "rounds": args.rounds,
        "set_config_round_trip_ms": {"median": round(statistics.median(context_ms), 3), "p95": round(context_ms[189], 3)},
        "phase1_tenant_only": s1,
        "phase2_all_policies": s2,
        "engagement_vs_tenant_only": {
            name: {
                "rls_admin": round(s2[name]["rls_admin"]["ratio_to_owner"] / s1[name]["tenant_only"]["ratio_to_owner"], 3),
                "rls_analyst": round(s2[name]["rls_analyst"]["ratio_to_owner"] / s1[name]["tenant_only"]["ratio_to_owner"], 3),
            }
            for name in qs
        },
        "tenant_predicate_in_index_cond": {
            key: ("Index Cond" in plan and "client_account_id" in "".join(l for l in plan.splitlines() if "Index Cond" in l))
            for key, plan in explains.items()
        },
    }
    (RESULTS / "rls_overhead.json").write_text(json.dumps(result, indent=2))

    print("\nRLS overhead — median ms (ratio to owner without RLS)")
    print(f"{'query':<28}{'owner':>10}{'tenant-only':>18}{'all policies':>18}{'analyst':>18}   index-cond")
    for name in qs:
        row = f"{name:<28}{s2[name]['owner']['median_ms']:>10.3f}"
        row += f"{s1[name]['tenant_only']['median_ms']:>10.3f} ({s1[name]['tenant_only']['ratio_to_owner']:.2f})"
        row += f"{s2[name]['rls_admin']['median_ms']:>10.3f} ({s2[name]['rls_admin']['ratio_to_owner']:.2f})"
        row += f"{s2[name]['rls_analyst']['median_ms']:>10.3f} ({s2[name]['rls_analyst']['ratio_to_owner']:.2f})"
        row += f"   {result['tenant_predicate_in_index_cond'][name + '.rls_admin']}"
        print(row)
    print(f"\nset_config round trip: median {result['set_config_round_trip_ms']['median']} ms")
    print(f"dataset: {meta['counts']}; machine: {result['machine']}")
    print(f"saved: {RESULTS / 'rls_overhead.json'} and explain_*.txt")


if __name__ == "__main__":
    main()
