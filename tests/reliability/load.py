"""A bounded load generator with leak detection (httpx + asyncio, loopback only).

Every tenant gets ``clients`` concurrent clients, each with its own token, looping over a
mix of search, list, create and update until the time or the request budget runs out.
Every row of every response is checked against the client's own tenant: its engagement
must be one of the tenant's, and a pattern id known to belong to another tenant is a leak.

Each client updates only patterns it created itself, so the last acknowledged value of
every update is known and can be compared with the database afterwards ("nothing lost").
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

ENDPOINTS = {
    "search": "POST /api/v1/patterns/search/",
    "list": "GET /api/v1/patterns/",
    "create": "POST /api/v1/patterns/",
    "update": "PATCH /api/v1/patterns/{id}/",
}
MIX = [("search", 35), ("list", 35), ("create", 15), ("update", 15)]
SEARCH_TERMS = [
    "Oracle to PostgreSQL", "mainframe batch dependency", "shared database between applications", "rehost to AWS",
    "Kubernetes replatforming risk", "license cost of WebLogic", "hard-coded IP addresses", "data quality of the CMDB",
    "SAP on Azure", "VMware estate", "field mapping hostname", "PCI DSS compliance", "slow nightly ETL",
]
VOCABULARY = (
    "legacy cobol jcl db2 vsam websphere weblogic tomcat jboss oracle rac sqlserver sybase informix mongodb kafka "
    "rabbitmq ibm-mq nfs smb ldap kerberos saml ftp sftp cron autosys control-m sap hana netweaver peoplesoft "
    "siebel sharepoint exchange citrix vmware hyper-v aix solaris hp-ux rhel windows-2012 dotnet java8 python2 perl "
    "struts spring angularjs jquery iis apache nginx f5 haproxy terraform ansible chef puppet jenkins"
).split()
AGENTS = ["Asset Inventory Agent", "Dependency Analysis Agent", "Risk Assessment Agent", "Six R Strategy Agent"]


@dataclass
class ClientSpec:
    tenant_id: str
    token: str
    engagement_ids: list[str]
    label: str


@dataclass
class Sample:
    endpoint: str
    status: int  # 0: no HTTP response (transport error or client timeout)
    seconds: float
    started: float  # since the load began
    error_code: str | None = None


@dataclass
class LoadResult:
    seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    cross_tenant_rows: list[dict] = field(default_factory=list)
    rows_checked: int = 0
    transport_errors: Counter = field(default_factory=Counter)
    transport_error_details: list[str] = field(default_factory=list)
    # id -> (tenant id, pattern_id) of every pattern acknowledged with 201
    created: dict[str, tuple[str, str]] = field(default_factory=dict)
    # pattern_id -> tenant id of every create attempted (acknowledged or not)
    create_attempts: dict[str, str] = field(default_factory=dict)
    # id -> task_id of the last acknowledged update
    last_update: dict[str, str] = field(default_factory=dict)
    # id -> task_ids of updates sent after the last acknowledged one (failed or unanswered:
    # a commit can succeed while its answer is lost, so the database may hold one of them)
    unacknowledged_updates: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # non-JSON or wrongly shaped error bodies
    malformed_errors: list[str] = field(default_factory=list)

    def by_status(self) -> dict[str, int]:
        return dict(sorted(Counter(str(s.status) for s in self.samples).items()))

    def count_5xx(self, *, allowed_codes: tuple[str, ...] = ()) -> int:
        return sum(1 for s in self.samples if s.status >= 500 and s.error_code not in allowed_codes)

    def summary(self) -> dict:
        per_endpoint = {}
        grouped = defaultdict(list)
        for s in self.samples:
            grouped[s.endpoint].append(s)
        for name, samples in sorted(grouped.items()):
            ok = sorted(s.seconds for s in samples if 200 <= s.status < 300)
            per_endpoint[ENDPOINTS[name]] = {
                "requests": len(samples),
                "ok": len(ok),
                "p50_ms": _ms(_percentile(ok, 50)),
                "p95_ms": _ms(_percentile(ok, 95)),
                "p99_ms": _ms(_percentile(ok, 99)),
                "by_status": dict(sorted(Counter(str(s.status) for s in samples).items())),
            }
        return {
            "seconds": round(self.seconds, 2),
            "requests": len(self.samples),
            "requests_per_second": round(len(self.samples) / self.seconds, 1) if self.seconds else 0.0,
            "by_status": self.by_status(),
            "error_codes": dict(sorted(Counter(s.error_code for s in self.samples if s.error_code).items())),
            "transport_errors": dict(self.transport_errors),
            "transport_error_details": self.transport_error_details[:10],
            "rows_checked": self.rows_checked,
            "cross_tenant_rows": len(self.cross_tenant_rows),
            "patterns_created": len(self.created),
            "patterns_updated": len(self.last_update),
            "malformed_error_bodies": len(self.malformed_errors),
            "endpoints": per_endpoint,
        }


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(q / 100 * len(values) + 0.5) - 1))
    return values[index]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


class _Client:
    def __init__(self, spec: ClientSpec, http: httpx.AsyncClient, result: LoadResult, owner_of: dict[str, str], rng: random.Random, t0: float):
        self.spec = spec
        self.http = http
        self.result = result
        self.owner_of = owner_of
        self.rng = rng
        self.t0 = t0
        self.mine: list[str] = []
        self.sequence = 0
        self.headers = {"Authorization": f"Token {spec.token}", "X-Client-Account-Id": spec.tenant_id}

    def _check_rows(self, rows: list[dict], endpoint: str) -> None:
        for row in rows:
            self.result.rows_checked += 1
            row_id = str(row.get("id"))
            foreign_owner = self.owner_of.get(row_id) or self.result.created.get(row_id, (None,))[0]
            if row.get("engagement_id") not in self.spec.engagement_ids or (foreign_owner and foreign_owner != self.spec.tenant_id):
                self.result.cross_tenant_rows.append({"client": self.spec.label, "endpoint": endpoint, "row": row.get("id"), "engagement": row.get("engagement_id")})

    async def _send(self, endpoint: str, method: str, url: str, **kwargs) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = await self.http.request(method, url, headers=self.headers, **kwargs)
        except httpx.HTTPError as exc:
            self.result.transport_errors[type(exc).__name__] += 1
            self.result.transport_error_details.append(f"{endpoint} at {started - self.t0:.2f}s after {time.monotonic() - started:.2f}s: {exc!r}")
            self.result.samples.append(Sample(endpoint, 0, time.monotonic() - started, started - self.t0))
            return None
        code = None
        if response.status_code >= 400:
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                self.result.malformed_errors.append(f"{response.status_code} {endpoint}: {response.text[:200]}")
        self.result.samples.append(Sample(endpoint, response.status_code, time.monotonic() - started, started - self.t0, code))
        return response

    async def step(self) -> None:
        kind = self.rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
        if kind == "update" and not self.mine:
            kind = "create"
        if kind == "search":
            body = {"query": self.rng.choice(SEARCH_TERMS), "k": self.rng.choice([5, 10, 20])}
            response = await self._send(kind, "POST", "/api/v1/patterns/search/", json=body)
            if response is not None and response.status_code == 200:
                self._check_rows(response.json()["results"], kind)
        elif kind == "list":
            params = {"page_size": self.rng.choice([10, 50])}
            if self.rng.random() < 0.3:
                params["engagement"] = self.rng.choice(self.spec.engagement_ids)
            response = await self._send(kind, "GET", "/api/v1/patterns/", params=params)
            if response is not None and response.status_code == 200:
                self._check_rows(response.json()["results"], kind)
        elif kind == "create":
            marker = uuid.uuid4().hex[:12]
            pattern_id = f"load-{marker}"
            words = " ".join(self.rng.sample(VOCABULARY, 8))
            body = {
                "engagement_id": self.rng.choice(self.spec.engagement_ids),
                "pattern_type": "TECHNOLOGY_CORRELATION",
                "pattern_id": pattern_id,
                "pattern_name": f"{words.split()[0]} with {words.split()[1]} ({marker})",
                "pattern_description": f"Load finding {marker}: {words}.",
                "discovered_by_agent": self.rng.choice(AGENTS),
                "confidence_score": round(self.rng.uniform(0.5, 0.95), 3),
            }
            self.result.create_attempts[pattern_id] = self.spec.tenant_id
            response = await self._send(kind, "POST", "/api/v1/patterns/", json=body)
            if response is not None and response.status_code in (200, 201):
                row = response.json()
                self._check_rows([row], kind)
                if response.status_code == 201:
                    self.result.created[row["id"]] = (self.spec.tenant_id, pattern_id)
                    self.mine.append(row["id"])
        else:
            target = self.rng.choice(self.mine)
            self.sequence += 1
            task_id = f"{self.spec.label}-{self.sequence}"
            response = await self._send(kind, "PATCH", f"/api/v1/patterns/{target}/", json={"task_id": task_id, "confidence_score": round(self.rng.uniform(0.5, 0.99), 3)})
            if response is not None and response.status_code == 200:
                row = response.json()
                self._check_rows([row], kind)
                self.result.last_update[target] = task_id
                self.result.unacknowledged_updates.pop(target, None)
            else:
                self.result.unacknowledged_updates[target].append(task_id)


async def _run(base: str, specs: list[ClientSpec], owner_of: dict[str, str], seconds: float, max_requests: int, seed: int, events, transport, tail_seconds: float) -> LoadResult:
    result = LoadResult()
    t0 = time.monotonic()
    deadline = [t0 + seconds]
    # While an event is pending or running the load goes on, whatever the deadline.
    pending = [len(events or [])]
    # Idle connections are dropped before gunicorn's 2 s keep-alive closes them, so no
    # request is ever sent on a connection the server is closing at that moment.
    limits = httpx.Limits(max_connections=len(specs) + 4, max_keepalive_connections=len(specs) + 4, keepalive_expiry=1.0)
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30.0), limits=limits, transport=transport) as http:
        clients = [_Client(spec, http, result, owner_of, random.Random(seed + i), t0) for i, spec in enumerate(specs)]

        async def loop(client: _Client) -> None:
            while (pending[0] or time.monotonic() < deadline[0]) and len(result.samples) < max_requests:
                await client.step()

        async def timeline() -> None:
            for at, action in sorted(events or [], key=lambda e: e[0]):
                await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
                try:
                    await asyncio.to_thread(action, t0)
                finally:
                    if pending[0] == 1:
                        deadline[0] = max(deadline[0], time.monotonic() + tail_seconds)
                    pending[0] -= 1

        await asyncio.gather(timeline(), *(loop(c) for c in clients))
    result.seconds = time.monotonic() - t0
    return result


def load_run(
    base: str,
    specs: list[ClientSpec],
    *,
    owner_of: dict[str, str],
    seconds: float,
    max_requests: int,
    seed: int = 20261204,
    events: list | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    tail_seconds: float = 0.0,
) -> LoadResult:
    """Run the load against ``base`` (a loopback URL) for ``seconds`` or ``max_requests``.

    ``events``: [(seconds after start, callable(t0))] run in a thread at those times (faults);
    ``t0`` is the load's time.monotonic() origin, the one of Sample.started.
    The load goes on at least ``tail_seconds`` after the last event ended (to watch the
    recovery, however long the fault took). ``transport`` replaces the
    network (the detector's own tests).
    """
    # One INFO line per request would drown the test output.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    host = urlsplit(base).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise ValueError(f"The load generator sends traffic to loopback addresses only, not {host!r}.")
    return asyncio.run(_run(base, specs, owner_of, seconds, max_requests, seed, events, transport, tail_seconds))


def client_specs(fleet) -> list[ClientSpec]:
    """One ClientSpec per (tenant, token) of the fleet."""
    return [
        ClientSpec(tenant_id=t.id, token=token, engagement_ids=t.engagement_ids, label=f"t{ti}c{ci}")
        for ti, t in enumerate(fleet.tenants)
        for ci, token in enumerate(t.tokens)
    ]
