"""Vector similarity search benchmark: latency, recall and filling, per tenant share.

    .venv/bin/python bench/vector_search/run.py --sizes 10000 100000

Builds its own database (``bench_vectors``, created by the schema owner and migrated),
loads N patterns (binary COPY into a staging table, then INSERT ... SELECT: COPY is
refused on a table under row-level security), builds the vector index after the load,
VACUUM ANALYZE, warms the cache, and measures:

* the product path: ``patterns_similar_to_vector`` inside ``tenant_context`` (runtime
  role, RLS) -- "db" -- and POST /api/v1/patterns/search/ through gunicorn -- "http";
* strategies side by side as single SQL statements with an explicit tenant predicate:
  exact (enable_indexscan = off, also the ground truth), HNSW with relaxed / strict
  iterative scans and without, IVFFlat (lists = rows / 1000) and an HNSW index on a
  halfvec expression (on a copy of the table), and exact search on TOASTed vectors;

for tenants holding 0.1%, 1%, 10% and 50% of the rows: p50/p95/p99, recall@10 against
the exact answer, and the share of under-filled answers (fewer than min(k, tenant rows)).
Results go to bench/vector_search/results.json and a table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import datasets  # noqa: E402

BENCH_DB = "bench_vectors"
SHARES = {"0.1%": 0.001, "1%": 0.01, "10%": 0.10, "50%": 0.50}
K = 10
PASSWORD = "bench-password-not-a-secret"
RESULTS = ROOT / "bench" / "vector_search" / "results.json"
TABLE = "agent_discovered_patterns"


# --- database and Django ------------------------------------------------------------------


def _server():
    from modernize import embedded_db

    data_dir = Path(os.environ.get("MODERNIZE_DATA_DIR", ROOT / ".pgdata"))
    return embedded_db, embedded_db.ensure_running(data_dir)


def _conninfo(server, user_role: str, dbname: str) -> dict:
    s = server.settings_for(user_role)
    return {"host": s["HOST"], "port": s["PORT"], "user": s["USER"], "password": s["PASSWORD"], "dbname": dbname}


def _url(info: dict) -> str:
    return f"postgres://{quote(info['user'], safe='')}:{quote(info['password'], safe='')}@:{info['port']}/{info['dbname']}?host={quote(info['host'], safe='/')}"


def django_environment(server) -> dict:
    from cryptography.fernet import Fernet

    return {
        "DJANGO_SETTINGS_MODULE": "modernize.settings",
        "DATABASE_URL": _url(_conninfo(server, "owner", BENCH_DB)),
        "DATABASE_RUNTIME_URL": _url(_conninfo(server, "runtime", BENCH_DB)),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-a-secret",
        "CREDENTIAL_ENCRYPTION_KEYS": f"bench={Fernet.generate_key().decode()}",
        "SEARCH_THROTTLE_RATE": "100000000/min",
        "LOGIN_THROTTLE_RATE": "1000/min",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "600",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "EMBEDDING_PROVIDER": "local",
    }


def create_database(server, env: dict) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(**_conninfo(server, "owner", "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env={**os.environ, **env}, check=True)


def drop_database(server) -> None:
    import psycopg
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with psycopg.connect(**_conninfo(server, "owner", "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))


def owner_connection(server):
    import psycopg
    from pgvector.psycopg import register_vector

    conn = psycopg.connect(**_conninfo(server, "owner", BENCH_DB), autocommit=True)
    # No server-side prepared statements: a cached generic plan would ignore the planner
    # settings each strategy sets (the application's Django connection binds client-side).
    conn.prepare_threshold = None
    register_vector(conn)
    return conn


def seed_tenants() -> dict:
    """Client accounts (one per share, plus 'others'), 3 engagements each, one member user."""
    from seeding.factories.tenancy import ClientAccountFactory, ClientMembershipFactory, EngagementFactory, UserFactory
    from tenancy.context import platform_context

    tenants = {}
    with platform_context(reason="bench: create the benchmark tenants"):
        user = UserFactory(email="bench@modernize.example", password=PASSWORD)
        for label in [*SHARES, "others"]:
            account = ClientAccountFactory(name=f"Bench tenant {label}", slug=f"bench-{label.replace('%', 'pct').replace('.', '-')}")
            engagements = [str(EngagementFactory(client_account=account).pk) for _ in range(3)]
            ClientMembershipFactory(client_account=account, user=user, role="client_admin")
            tenants[label] = {"id": str(account.pk), "engagements": engagements}
    return tenants


# --- loading and indexing --------------------------------------------------------------------


def load(conn, data: datasets.Dataset, tenants: dict, assignment: dict, rng) -> tuple[float, np.ndarray]:
    """Replace the table's rows with the dataset; return (seconds, client id per row)."""
    from patterns.embedders.local import LocalHashingEmbedder
    from patterns.models import INSIGHT_TYPE_FOR_PATTERN_TYPE

    n = len(data.vectors)
    client_of = np.empty(n, dtype=object)
    engagement_of = np.empty(n, dtype=object)
    for label, rows in assignment.items():
        client_of[rows] = uuid.UUID(tenants[label]["id"])
        choices = [uuid.UUID(e) for e in tenants[label]["engagements"]]
        engagement_of[rows] = [choices[i] for i in rng.integers(0, len(choices), len(rows))]
    pattern_types = list(INSIGHT_TYPE_FOR_PATTERN_TYPE)
    types = [pattern_types[i] for i in rng.integers(0, len(pattern_types), n)]
    model = LocalHashingEmbedder.model_name

    started = time.perf_counter()
    conn.execute("SET synchronous_commit = off")
    with conn.transaction():
        conn.execute(f"TRUNCATE {TABLE}")
        conn.execute("DROP INDEX IF EXISTS adp_embedding_ann_idx")
        conn.execute(
            "CREATE TEMP TABLE stage (id uuid, client_account_id uuid, engagement_id uuid, pattern_type text, "
            "pattern_name text, pattern_description text, embedding vector(1536)) ON COMMIT DROP"
        )
        with conn.cursor() as cursor:
            with cursor.copy("COPY stage FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["uuid", "uuid", "uuid", "text", "text", "text", "vector"])
                for i in range(n):
                    copy.write_row(
                        (uuid.uuid4(), client_of[i], engagement_of[i], types[i],
                         data.names[i], data.descriptions[i], data.vectors[i])
                    )
        mapping = " ".join(f"WHEN '{p}' THEN '{i}'" for p, i in INSIGHT_TYPE_FOR_PATTERN_TYPE.items())
        conn.execute(
            f"INSERT INTO {TABLE} (id, created_at, updated_at, client_account_id, engagement_id, pattern_id, pattern_type, insight_type, "
            "pattern_name, pattern_description, discovered_by_agent, task_id, confidence_score, evidence_count, times_referenced, "
            "pattern_data, execution_context, embedding, embedding_model) "
            f"SELECT id, now(), now(), client_account_id, engagement_id, 'bench-' || id, pattern_type, CASE pattern_type {mapping} END, "
            "pattern_name, pattern_description, 'Asset Inventory Agent', '', 0.8, 1, 0, '{}', '{}', embedding, %s FROM stage",
            [model],
        )
    conn.execute("RESET synchronous_commit")
    return time.perf_counter() - started, client_of


def build_product_index(conn) -> dict:
    from patterns.services import embedding_index_rebuild

    started = time.perf_counter()
    status = embedding_index_rebuild(method="hnsw", m=16, ef_construction=64)
    seconds = time.perf_counter() - started
    conn.execute(f"VACUUM ANALYZE {TABLE}")
    sizes = conn.execute(f"SELECT pg_table_size('{TABLE}'), pg_indexes_size('{TABLE}')").fetchone()
    return {
        "method": "hnsw",
        "m": 16,
        "ef_construction": 64,
        "build_seconds": round(seconds, 2),
        "size_bytes": status.main.size_bytes,
        "table_size_bytes": sizes[0],
    }


# --- measuring ---------------------------------------------------------------------------------

WARMUP = 10


def hnsw_settings(**overrides) -> dict:
    """The index-scan settings the application uses (patterns.selectors), with overrides."""
    from django.conf import settings

    return {
        "hnsw.ef_search": str(settings.HNSW_EF_SEARCH),
        "hnsw.iterative_scan": settings.HNSW_ITERATIVE_SCAN,
        "hnsw.max_scan_tuples": str(settings.HNSW_MAX_SCAN_TUPLES),
        "enable_sort": "off",
        **{name.replace("__", "."): str(value) for name, value in overrides.items()},
    }


def percentiles(samples_ms: list[float]) -> dict:
    a = np.asarray(samples_ms)
    return {f"p{p}_ms": round(float(np.percentile(a, p)), 3) for p in (50, 95, 99)}


def summarise(latencies: list[float], answers: list[list[str]], truth: list[list[str]], tenant_rows: int) -> dict:
    want = min(K, tenant_rows)
    recalls = [len(set(got[:K]) & set(expected)) / max(1, len(expected)) for got, expected in zip(answers, truth)]
    return {
        **percentiles(latencies),
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "underfilled_share": round(sum(len(got) < want for got in answers) / len(answers), 4),
        "queries": len(answers),
    }


def sql_strategy(conn, tenants, queries, settings: dict, *, table=TABLE, expression="embedding", cast="") -> dict:
    """Per tenant label: (latencies, answers) of one SQL statement per query, settings set per session."""
    sql = (
        f"SELECT id, {expression} <=> %s{cast} AS distance FROM {table} WHERE client_account_id = %s "
        f"ORDER BY {expression} <=> %s{cast} LIMIT {K}"
    )
    for name, value in settings.items():
        conn.execute(f"SET {name} = {value}")
    try:
        out = {}
        for label in SHARES:
            tenant = uuid.UUID(tenants[label]["id"])
            for q in queries[:WARMUP]:
                conn.execute(sql, [q, tenant, q]).fetchall()
            latencies, answers = [], []
            for q in queries:
                started = time.perf_counter()
                rows = conn.execute(sql, [q, tenant, q]).fetchall()
                latencies.append((time.perf_counter() - started) * 1000)
                answers.append([str(r[0]) for r in sorted(rows, key=lambda r: r[1])])
            out[label] = (latencies, answers)
        return out
    finally:
        for name in settings:
            conn.execute(f"RESET {name}")


def scored(raw: dict, truth: dict, tenant_rows: dict, **extra) -> dict:
    return {**extra, **{label: summarise(*raw[label], truth[label], tenant_rows[label]) for label in SHARES}}


def product_db(tenants, queries, truth, tenant_rows) -> dict:
    """The selector the API calls, in the tenant context (runtime role, RLS)."""
    from patterns.selectors import patterns_similar_to_vector
    from tenancy.context import tenant_context

    vectors = [q.tolist() for q in queries]
    out = {}
    for label in SHARES:
        tenant = tenants[label]["id"]
        for v in vectors[:WARMUP]:
            with tenant_context(tenant):
                patterns_similar_to_vector(vector=v, k=K)
        latencies, answers, strategies = [], [], {}
        for v in vectors:
            started = time.perf_counter()
            with tenant_context(tenant):
                found = patterns_similar_to_vector(vector=v, k=K)
            latencies.append((time.perf_counter() - started) * 1000)
            answers.append([str(m.pattern.pk) for m in found])
            strategies[found.strategy] = strategies.get(found.strategy, 0) + 1
        out[label] = {**summarise(latencies, answers, truth[label], tenant_rows[label]), "strategies": strategies}
    return out


def start_http_server(env: dict, log_path: Path):
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "modernize.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1", "--timeout", "120"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not start; see {log_path}")


def product_http(base: str, tenants, bodies: list[bytes], truth, tenant_rows) -> dict:
    """POST /api/v1/patterns/search/ over a keep-alive connection, one request at a time."""
    import httpx

    out = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.post("/api/v1/auth/token/", json={"email": "bench@modernize.example", "password": PASSWORD}).json()["token"]
        for label in SHARES:
            headers = {"Authorization": f"Token {token}", "X-Client-Account-Id": tenants[label]["id"], "Content-Type": "application/json"}
            for body in bodies[:WARMUP]:
                client.post("/api/v1/patterns/search/", content=body, headers=headers)
            latencies, answers = [], []
            for body in bodies:
                started = time.perf_counter()
                response = client.post("/api/v1/patterns/search/", content=body, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"search answered {response.status_code}: {response.text[:300]}")
                answers.append([r["id"] for r in response.json()["results"]])
            out[label] = summarise(latencies, answers, truth[label], tenant_rows[label])
    return out


def index_variants(conn, n: int, tenants, queries, truth, tenant_rows) -> dict:
    """IVFFlat, an HNSW index on a halfvec expression, and exact search on TOASTed vectors.

    Built on a copy of (id, client_account_id, embedding) so the product table keeps its
    HNSW index; the copy stores vectors PLAIN like the product table, except bench_toast.
    """
    out = {}
    conn.execute("DROP TABLE IF EXISTS bench_ann, bench_toast")
    conn.execute("CREATE TABLE bench_ann (id uuid PRIMARY KEY, client_account_id uuid NOT NULL, embedding vector(1536))")
    conn.execute("ALTER TABLE bench_ann ALTER COLUMN embedding SET STORAGE PLAIN")
    conn.execute(f"INSERT INTO bench_ann SELECT id, client_account_id, embedding FROM {TABLE}")
    conn.execute("CREATE INDEX ON bench_ann (client_account_id)")
    conn.execute("VACUUM ANALYZE bench_ann")

    def build(sql: str, name: str) -> dict:
        started = time.perf_counter()
        conn.execute(sql)
        seconds = time.perf_counter() - started
        return {"build_seconds": round(seconds, 2), "size_bytes": conn.execute("SELECT pg_relation_size(%s::regclass)", [name]).fetchone()[0]}

    lists = max(1, n // 1000)
    meta = build(f"CREATE INDEX bench_ann_ivfflat ON bench_ann USING ivfflat (embedding vector_cosine_ops) WITH (lists = {lists})", "bench_ann_ivfflat")
    probes = max(1, min(lists, 10))
    raw = sql_strategy(
        conn, tenants, queries, {"ivfflat.probes": str(probes), "ivfflat.iterative_scan": "relaxed_order", "enable_sort": "off"}, table="bench_ann"
    )
    out["ivfflat_relaxed"] = scored(raw, truth, tenant_rows, lists=lists, probes=probes, **meta)
    conn.execute("DROP INDEX bench_ann_ivfflat")

    meta = build(
        "CREATE INDEX bench_ann_halfvec ON bench_ann USING hnsw ((embedding::halfvec(1536)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)",
        "bench_ann_halfvec",
    )
    raw = sql_strategy(
        conn, tenants, queries, hnsw_settings(hnsw__iterative_scan="relaxed_order"), table="bench_ann", expression="embedding::halfvec(1536)", cast="::halfvec(1536)"
    )
    out["hnsw_halfvec_relaxed"] = scored(raw, truth, tenant_rows, **meta)
    conn.execute("DROP TABLE bench_ann")

    conn.execute("CREATE TABLE bench_toast (id uuid PRIMARY KEY, client_account_id uuid NOT NULL, embedding vector(1536))")
    conn.execute(f"INSERT INTO bench_toast SELECT id, client_account_id, embedding FROM {TABLE}")
    conn.execute("CREATE INDEX ON bench_toast (client_account_id)")
    conn.execute("VACUUM ANALYZE bench_toast")
    raw = sql_strategy(conn, tenants, queries, {"enable_indexscan": "off"}, table="bench_toast")
    out["exact_toasted"] = scored(raw, truth, tenant_rows)
    conn.execute("DROP TABLE bench_toast")
    return out


def run_one(conn, base, kind: str, n: int, queries: int, strategy_queries: int, tenants: dict, with_variants: bool, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    data = datasets.clustered(n, queries, rng) if kind == "clustered" else datasets.text(n, queries, rng)
    generate_seconds = time.perf_counter() - started
    assignment = datasets.tenant_assignment(n, SHARES, rng)
    tenant_rows = {label: len(rows) for label, rows in assignment.items()}
    load_seconds, _ = load(conn, data, tenants, assignment, rng)
    index = build_product_index(conn)
    print(f"  {kind} {n}: generated {generate_seconds:.1f}s, loaded {load_seconds:.1f}s, HNSW built {index['build_seconds']:.1f}s", flush=True)

    run = {
        "dataset": kind,
        "rows": n,
        "tenant_rows": tenant_rows,
        "generate_seconds": round(generate_seconds, 2),
        "load_seconds": round(load_seconds, 2),
        "index": index,
        "strategies": {},
    }
    q = data.query_vectors
    exact = sql_strategy(conn, tenants, q, {"enable_indexscan": "off"})
    truth = {label: exact[label][1] for label in SHARES}
    run["strategies"]["exact"] = scored(exact, truth, tenant_rows)
    # The side-by-side strategies run on the first queries only: a 0.1 % tenant costs an
    # iterative index scan ~150 ms per query.
    few = q[:strategy_queries]
    few_truth = {label: truth[label][:strategy_queries] for label in SHARES}
    for name, settings in {
        "hnsw_relaxed": hnsw_settings(hnsw__iterative_scan="relaxed_order"),
        "hnsw_relaxed_ef40": hnsw_settings(hnsw__iterative_scan="relaxed_order", hnsw__ef_search=40),
        "hnsw_relaxed_ef100": hnsw_settings(hnsw__iterative_scan="relaxed_order", hnsw__ef_search=100),
        "hnsw_strict": hnsw_settings(hnsw__iterative_scan="strict_order"),
        "hnsw_no_iterative": hnsw_settings(hnsw__iterative_scan="off"),
    }.items():
        run["strategies"][name] = scored(sql_strategy(conn, tenants, few, settings), few_truth, tenant_rows, ef_search=int(settings["hnsw.ef_search"]))
    print(f"  {kind} {n}: SQL strategies measured", flush=True)

    run["product_db"] = product_db(tenants, q, truth, tenant_rows)
    vector_bodies = [json.dumps({"vector": v.tolist(), "k": K}).encode() for v in q]
    run["product_http"] = product_http(base, tenants, vector_bodies, truth, tenant_rows)
    if data.query_texts is not None:
        text_bodies = [json.dumps({"query": t, "k": K}).encode() for t in data.query_texts]
        run["product_http_text"] = product_http(base, tenants, text_bodies, truth, tenant_rows)
    print(f"  {kind} {n}: product path measured", flush=True)

    if with_variants:
        run["strategies"].update(index_variants(conn, n, tenants, few, few_truth, tenant_rows))
        print(f"  {kind} {n}: index variants measured", flush=True)
    return run


# --- report -------------------------------------------------------------------------------------


def machine(conn) -> dict:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        memory = next(line.split(":", 1)[1].strip() for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    settings = dict(
        conn.execute(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
            "('shared_buffers', 'work_mem', 'maintenance_work_mem', 'effective_cache_size', 'max_parallel_maintenance_workers', 'jit')"
        ).fetchall()
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "postgresql": conn.execute("SHOW server_version").fetchone()[0],
        "pgvector": conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0],
        "server_settings": settings,
    }


def _cell(result: dict) -> str:
    return f"{result['p50_ms']:6.2f}/{result['p95_ms']:6.2f}/{result['p99_ms']:6.2f} r={result['recall_at_10']:.3f} u={result['underfilled_share'] * 100:3.0f}%"


def print_table(report: dict) -> None:
    for run in report["runs"]:
        index = run["index"]
        print()
        print(
            f"== {run['dataset']} N={run['rows']:,}  HNSW(m=16, ef_construction=64) build {index['build_seconds']}s, "
            f"index {index['size_bytes'] / 2**20:.0f} MB, table {index['table_size_bytes'] / 2**20:.0f} MB; "
            f"tenant rows {', '.join(f'{k}={v}' for k, v in run['tenant_rows'].items())}"
        )
        print(f"API rows: {report['queries_per_tenant']} queries per tenant; sql rows but exact: {report['strategy_queries_per_tenant']}.")
        print(f"{'method':<24}" + "".join(f"{label:>44}" for label in SHARES))
        print(f"{'':<24}" + "".join(f"{'p50/p95/p99 ms, recall@10, under-filled':>44}" for _ in SHARES))
        rows = [("API db (selector)", run["product_db"]), ("API http (vector)", run["product_http"])]
        if "product_http_text" in run:
            rows.append(("API http (text)", run["product_http_text"]))
        rows += [(f"sql {name}", result) for name, result in run["strategies"].items()]
        for name, result in rows:
            print(f"{name:<24}" + "".join(f"{_cell(result[label]):>44}" for label in SHARES))
        for name, result in run["strategies"].items():
            if "build_seconds" in result:
                print(f"  {name}: build {result['build_seconds']}s, size {result['size_bytes'] / 2**20:.0f} MB")
        strategies = {label: run["product_db"][label]["strategies"] for label in SHARES}
        print(f"  API strategy per tenant: {strategies}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--datasets", nargs="+", choices=["clustered", "text"], default=["clustered", "text"])
    parser.add_argument("--queries", type=int, default=100, help="Queries per tenant share for the API paths and exact search (default 100).")
    parser.add_argument("--strategy-queries", type=int, default=30, help="Queries per tenant share for the other SQL strategies (default 30).")
    parser.add_argument("--no-variants", action="store_true", help="Skip IVFFlat, halfvec and TOAST comparisons.")
    parser.add_argument("--variants-datasets", nargs="+", default=["clustered"], help="Datasets that get the variant comparisons.")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep-database", action="store_true", help=f"Leave {BENCH_DB} in place afterwards (it holds ~2 GB at 100K).")
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args(argv)

    total_started = time.perf_counter()
    _, server = _server()
    env = django_environment(server)
    print(f"Creating and migrating database {BENCH_DB} ...", flush=True)
    create_database(server, env)
    os.environ.update(env)
    import django

    django.setup()
    tenants = seed_tenants()
    conn = owner_connection(server)
    http_process, base = start_http_server(env, Path("/tmp") / f"bench_vector_search_gunicorn_{os.getpid()}.log")
    report = {
        "benchmark": "vector_search",
        "method": (
            "Warm cache (10 warm-up queries per tenant and method, not timed). 'API db' times patterns_similar_to_vector in "
            "tenant_context (runtime role, RLS, count + top-k); 'API http' times POST /api/v1/patterns/search/ through "
            "gunicorn (1 sync worker, keep-alive client); 'sql *' time one statement with an explicit tenant predicate "
            "(owner role). Recall@10 against exact search (enable_indexscan = off). Under-filled: fewer than min(k, tenant rows) results."
        ),
        "k": K,
        "queries_per_tenant": args.queries,
        "strategy_queries_per_tenant": min(args.strategy_queries, args.queries),
        "runs": [],
    }
    try:
        report["machine"] = machine(conn)
        from django.conf import settings

        report["application_settings"] = {
            name: getattr(settings, name)
            for name in ("EXACT_SEARCH_MAX_ROWS", "EXACT_SEARCH_COST_RATIO", "HNSW_EF_SEARCH", "HNSW_ITERATIVE_SCAN", "HNSW_MAX_SCAN_TUPLES", "IVFFLAT_PROBES")
        }
        report["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
        for kind in args.datasets:
            for n in args.sizes:
                variants = not args.no_variants and kind in args.variants_datasets
                report["runs"].append(run_one(conn, base, kind, n, args.queries, min(args.strategy_queries, args.queries), tenants, variants, args.seed + n))
    finally:
        http_process.terminate()
        http_process.wait(timeout=30)
        conn.close()
        if not args.keep_database:
            drop_database(server)
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["total_seconds"] = round(time.perf_counter() - total_started, 1)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"\nLoad average (1/5/15 min) at start {report['load_average_at_start']}, at end {report['load_average_at_end']} on {report['machine']['cores']} cores.")
    print(f"\nSaved {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output} in {report['total_seconds']}s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
