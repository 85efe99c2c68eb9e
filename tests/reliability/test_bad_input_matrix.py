"""Every endpoint x every class of bad input: the observed status and message, written to
docs/reliability.md (between its matrix markers) by this test, never by hand.

The test fails when a cell answers 5xx, when bad input is accepted, or when a request
with another tenant's ids, no token, an expired token or a forged X-Client-Account-Id
gets anything but a refusal.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from modernize.security.services import role_change_request
from seeding.factories.patterns import AgentDiscoveredPatternFactory
from tenancy.authentication import token_digest
from tenancy.context import tenant_context
from tenancy.models import ApiToken
from tenancy.services import api_token_create

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
START, END = "<!-- bad-input-matrix:start -->", "<!-- bad-input-matrix:end -->"
CLASSES = [
    ("valid", "valid request (reference)"),
    ("wrong_types", "wrong types"),
    ("vector_length", "wrong vector length"),
    ("nan", "NaN"),
    ("huge", "huge payload (3 MB body / 2,000 query values)"),
    ("unknown_fields", "unknown fields"),
    ("other_tenant", "other tenant's ids"),
    ("missing_token", "missing token"),
    ("expired_token", "expired token"),
    ("forged_tenant", "forged X-Client-Account-Id"),
]
HUGE_TEXT = "x" * (3 * 1024 * 1024)
VECTOR = [0.01] * 1536


@dataclass
class Req:
    method: str
    path: str
    body: object = None  # dict (JSON) or str (raw JSON text)
    query: dict | None = None


def _nan_json(body: dict, field: str) -> str:
    """The body as JSON text with ``field`` set to the bare NaN token (what a careless client sends)."""
    return json.dumps({**body, field: "__NAN__"}).replace('"__NAN__"', "NaN")


def _endpoints(s) -> dict[str, dict[str, Req | None]]:
    """endpoint -> class -> request (None: the class does not apply to the endpoint)."""
    a_eng, b_eng = str(s.a_engagement), str(s.b_engagement)
    p, bp = str(s.a_pattern), str(s.b_pattern)
    create = {"engagement_id": a_eng, "pattern_type": "RISK_FACTOR", "pattern_name": "WebLogic licence renewal risk",
              "discovered_by_agent": "Risk Assessment Agent", "pattern_description": "Licence renewal due before the migration wave.", "confidence_score": 0.7}
    search = {"vector": VECTOR, "k": 5}
    rows = {
        "POST /api/v1/auth/token/": {
            "valid": Req("POST", "/api/v1/auth/token/", {"email": s.email, "password": s.password}),
            "wrong_types": Req("POST", "/api/v1/auth/token/", {"email": ["a"], "password": {"x": 1}}),
            "huge": Req("POST", "/api/v1/auth/token/", {"email": s.email, "password": HUGE_TEXT}),
            "unknown_fields": Req("POST", "/api/v1/auth/token/", {"email": s.email, "password": s.password, "is_platform_admin": True}),
        },
        "GET /api/v1/me/": {"valid": Req("GET", "/api/v1/me/"), "unknown_fields": Req("GET", "/api/v1/me/", query={"client_account_id": str(s.b_id)})},
        "GET /api/v1/engagements/": {
            "valid": Req("GET", "/api/v1/engagements/"),
            "unknown_fields": Req("GET", "/api/v1/engagements/", query={"client_account": str(s.b_id)}),
        },
        "POST /api/v1/engagements/": {
            "valid": Req("POST", "/api/v1/engagements/", {"name": "Wave 3", "slug": "wave-3"}),
            "wrong_types": Req("POST", "/api/v1/engagements/", {"name": 12, "slug": ["x"], "start_date": 5}),
            "huge": Req("POST", "/api/v1/engagements/", {"name": HUGE_TEXT, "slug": "huge"}),
            "unknown_fields": Req("POST", "/api/v1/engagements/", {"name": "Wave 4", "slug": "wave-4", "client_account_id": str(s.b_id)}),
        },
        "GET /api/v1/patterns/": {
            "valid": Req("GET", "/api/v1/patterns/"),
            "wrong_types": Req("GET", "/api/v1/patterns/", query={"min_confidence": "high", "page_size": "many", "engagement": "7"}),
            "nan": Req("GET", "/api/v1/patterns/", query={"min_confidence": "NaN"}),
            "huge": Req("GET", "/api/v1/patterns/", query={"insight_type": ["risk_pattern"] * 2000}),
            "unknown_fields": Req("GET", "/api/v1/patterns/", query={"client_account": str(s.b_id)}),
            "other_tenant": Req("GET", "/api/v1/patterns/", query={"engagement": b_eng}),
        },
        "POST /api/v1/patterns/": {
            "valid": Req("POST", "/api/v1/patterns/", create),
            "wrong_types": Req("POST", "/api/v1/patterns/", {**create, "confidence_score": "high", "pattern_name": ["x"], "pattern_data": [1]}),
            "nan": Req("POST", "/api/v1/patterns/", _nan_json(create, "confidence_score")),
            "huge": Req("POST", "/api/v1/patterns/", {**create, "pattern_description": HUGE_TEXT}),
            "unknown_fields": Req("POST", "/api/v1/patterns/", {**create, "pattern_name": "Sybase end of support", "client_account_id": str(s.b_id), "embedding": [1] * 3}),
            "other_tenant": Req("POST", "/api/v1/patterns/", {**create, "engagement_id": b_eng}),
        },
        "GET /api/v1/patterns/{id}/": {
            "valid": Req("GET", f"/api/v1/patterns/{p}/"),
            "wrong_types": Req("GET", "/api/v1/patterns/12/"),
            "other_tenant": Req("GET", f"/api/v1/patterns/{bp}/"),
        },
        "PATCH /api/v1/patterns/{id}/": {
            "valid": Req("PATCH", f"/api/v1/patterns/{p}/", {"confidence_score": 0.8}),
            "wrong_types": Req("PATCH", f"/api/v1/patterns/{p}/", {"confidence_score": "high", "execution_context": "x"}),
            "nan": Req("PATCH", f"/api/v1/patterns/{p}/", _nan_json({}, "confidence_score")),
            "huge": Req("PATCH", f"/api/v1/patterns/{p}/", {"pattern_description": HUGE_TEXT}),
            "unknown_fields": Req("PATCH", f"/api/v1/patterns/{p}/", {"task_id": "task-1", "client_account_id": str(s.b_id), "engagement_id": b_eng, "evidence_count": 999}),
            "other_tenant": Req("PATCH", f"/api/v1/patterns/{bp}/", {"confidence_score": 0.1}),
        },
        "DELETE /api/v1/patterns/{id}/": {
            "valid": Req("DELETE", f"/api/v1/patterns/{s.a_spare_pattern}/"),
            "wrong_types": Req("DELETE", "/api/v1/patterns/not-a-uuid/"),
            "other_tenant": Req("DELETE", f"/api/v1/patterns/{bp}/"),
        },
        "POST /api/v1/patterns/search/": {
            "valid": Req("POST", "/api/v1/patterns/search/", search),
            "wrong_types": Req("POST", "/api/v1/patterns/search/", {"vector": "fast", "k": "ten"}),
            "vector_length": Req("POST", "/api/v1/patterns/search/", {"vector": [0.1, 0.2, 0.3], "k": 5}),
            "nan": Req("POST", "/api/v1/patterns/search/", json.dumps({"vector": ["__NAN__"] + VECTOR[1:], "k": 5}).replace('"__NAN__"', "NaN")),
            "huge": Req("POST", "/api/v1/patterns/search/", {"query": HUGE_TEXT}),
            "unknown_fields": Req("POST", "/api/v1/patterns/search/", {**search, "client_account_id": str(s.b_id), "ef_search": 10000}),
            "other_tenant": Req("POST", "/api/v1/patterns/search/", {"pattern_id": bp, "k": 5}),
        },
        "GET /api/v1/patterns/{id}/similar/": {
            "valid": Req("GET", f"/api/v1/patterns/{p}/similar/"),
            "wrong_types": Req("GET", f"/api/v1/patterns/{p}/similar/", query={"k": "ten", "min_similarity": "close"}),
            "nan": Req("GET", f"/api/v1/patterns/{p}/similar/", query={"min_similarity": "NaN"}),
            "huge": Req("GET", f"/api/v1/patterns/{p}/similar/", query={"insight_types": ["risk_pattern"] * 2000}),
            "unknown_fields": Req("GET", f"/api/v1/patterns/{p}/similar/", query={"client_account": str(s.b_id)}),
            "other_tenant": Req("GET", f"/api/v1/patterns/{bp}/similar/"),
        },
        "POST /api/v1/patterns/{id}/feedback/": {
            "valid": Req("POST", f"/api/v1/patterns/{p}/feedback/", {"helpful": True}),
            "wrong_types": Req("POST", f"/api/v1/patterns/{p}/feedback/", {"helpful": "perhaps", "comment": 5}),
            "huge": Req("POST", f"/api/v1/patterns/{p}/feedback/", {"helpful": True, "comment": HUGE_TEXT}),
            "unknown_fields": Req("POST", f"/api/v1/patterns/{p}/feedback/", {"helpful": True, "pattern_effectiveness_score": 1.0}),
            "other_tenant": Req("POST", f"/api/v1/patterns/{bp}/feedback/", {"helpful": False}),
        },
        "POST /api/v1/patterns/{id}/evidence/": {
            "valid": Req("POST", f"/api/v1/patterns/{p}/evidence/", {"evidence": {"host": "db01"}}),
            "wrong_types": Req("POST", f"/api/v1/patterns/{p}/evidence/", {"evidence": "db01", "confidence_score": "high"}),
            "nan": Req("POST", f"/api/v1/patterns/{p}/evidence/", _nan_json({"evidence": {"host": "db01"}}, "confidence_score")),
            "huge": Req("POST", f"/api/v1/patterns/{p}/evidence/", {"evidence": {"blob": HUGE_TEXT}}),
            "unknown_fields": Req("POST", f"/api/v1/patterns/{p}/evidence/", {"evidence": {"host": "db02"}, "evidence_count": 999}),
            "other_tenant": Req("POST", f"/api/v1/patterns/{bp}/evidence/", {"evidence": {"host": "db01"}}),
        },
        "POST /api/v1/patterns/{id}/reference/": {
            "valid": Req("POST", f"/api/v1/patterns/{p}/reference/"),
            "wrong_types": Req("POST", "/api/v1/patterns/12/reference/"),
            "other_tenant": Req("POST", f"/api/v1/patterns/{bp}/reference/"),
        },
        "GET /api/v1/role-changes/": {
            "valid": Req("GET", "/api/v1/role-changes/"),
            "wrong_types": Req("GET", "/api/v1/role-changes/", query={"status": 7}),
            "unknown_fields": Req("GET", "/api/v1/role-changes/", query={"client_account": str(s.b_id)}),
        },
        "POST /api/v1/role-changes/": {
            "valid": Req("POST", "/api/v1/role-changes/", {"target_user_id": str(s.a_viewer), "requested_role": "analyst", "justification": "Needs to record findings for wave 2."}),
            "wrong_types": Req("POST", "/api/v1/role-changes/", {"target_user_id": 5, "requested_role": ["analyst"], "justification": {}}),
            "huge": Req("POST", "/api/v1/role-changes/", {"target_user_id": str(s.a_viewer), "requested_role": "analyst", "justification": HUGE_TEXT}),
            "unknown_fields": Req("POST", "/api/v1/role-changes/", {"target_user_id": str(s.a_multi), "requested_role": "analyst", "justification": "Leaves the steering group.", "status": "APPROVED"}),
            "other_tenant": Req("POST", "/api/v1/role-changes/", {"target_user_id": str(s.b_viewer), "requested_role": "analyst", "justification": "Cross-tenant attempt."}),
        },
        "POST /api/v1/role-changes/{id}/approve/": {
            "valid": Req("POST", f"/api/v1/role-changes/{s.a_approval}/approve/", {"notes": "Agreed in the steering meeting."}),
            "unknown_fields": Req("POST", f"/api/v1/role-changes/{s.a_approval2}/approve/", {"notes": "ok", "requested_role": "platform_admin"}),
            "wrong_types": Req("POST", "/api/v1/role-changes/12/approve/", {"notes": 5}),
            "other_tenant": Req("POST", f"/api/v1/role-changes/{s.b_approval}/approve/", {"notes": "approve another tenant's request"}),
        },
    }
    return rows


def _send(client: APIClient, req: Req, headers: dict):
    kwargs = {}
    if isinstance(req.body, str):
        kwargs = {"data": req.body, "content_type": "application/json"}
    elif req.body is not None:
        kwargs = {"data": json.dumps(req.body), "content_type": "application/json"}
    url = req.path
    if req.query:
        from urllib.parse import urlencode

        url = f"{url}?{urlencode(req.query, doseq=True)}"
    return getattr(client, req.method.lower())(url, **kwargs, **headers)


def _message(response) -> tuple[str, str]:
    try:
        body = response.json()
    except (ValueError, TypeError):
        return "", f"(not JSON: {response.get('Content-Type', '')})"
    error = body.get("error") if isinstance(body, dict) else None
    if not error:
        return "", "ok"
    message = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", str(error.get("message", "")))
    return str(error.get("code", "")), message[:90]


@dataclass
class Setup:
    a_id: object
    b_id: object
    a_engagement: object
    b_engagement: object
    a_pattern: object
    a_spare_pattern: object
    b_pattern: object
    b_approval: object
    a_approval: object
    a_approval2: object
    a_multi: object
    a_viewer: object
    a_analyst: object
    b_viewer: object
    email: str
    password: str


@pytest.fixture
def setup(world):
    with tenant_context(world.b.id):
        b_pattern = AgentDiscoveredPatternFactory(engagement=world.b.engagements[0])
        b_approval = role_change_request(
            requested_by=world.b.users["client_admin"], target_user=world.b.users["viewer"], client_account_id=world.b.id,
            requested_role="analyst", justification="Promotion in tenant B.",
        )
    with tenant_context(world.a.id):
        a_pattern, a_spare = AgentDiscoveredPatternFactory.create_batch(2, engagement=world.a.engagements[0])
        a_approval = role_change_request(
            requested_by=world.a.users["engagement_manager"], target_user=world.a.users["analyst"], client_account_id=world.a.id,
            requested_role="engagement_manager", justification="Leads the data center exit.",
        )
        a_approval2 = role_change_request(
            requested_by=world.a.users["engagement_manager"], target_user=world.a.spare_user, client_account_id=world.a.id,
            requested_role="viewer", justification="Reads the wave plan.",
        )
    return Setup(
        a_id=world.a.id, b_id=world.b.id, a_engagement=world.a.engagements[0].pk, b_engagement=world.b.engagements[0].pk,
        a_pattern=a_pattern.pk, a_spare_pattern=a_spare.pk, b_pattern=b_pattern.pk, b_approval=b_approval.pk, a_approval=a_approval.pk, a_approval2=a_approval2.pk, a_multi=world.multi_user.pk,
        a_viewer=world.a.users["viewer"].pk, a_analyst=world.a.users["analyst"].pk, b_viewer=world.b.users["viewer"].pk,
        email=world.a.users["analyst"].email, password=world.password,
    )


def _expired_token(user) -> str:
    key = secrets.token_urlsafe(32)
    past = timezone.now() - timedelta(days=2)
    ApiToken.objects.create(user=user, key_digest=token_digest(key), key_prefix=key[:8], created_at=past, expires_at=past + timedelta(hours=1))
    return key


def _empty_list(response) -> bool:
    """A filter naming another tenant's engagement answers an empty page, not its rows."""
    try:
        return response.status_code == 200 and response.json().get("results") == []
    except (ValueError, AttributeError):
        return False


def _refused_for_bad_input(status: int) -> bool:
    return status in (400, 404, 405, 413, 415)


def test_bad_input_matrix(world, setup, settings):
    cache.clear()
    admin = world.a.users["client_admin"]
    live_key, _ = api_token_create(user=admin)
    expired_key = _expired_token(admin)
    client = APIClient()
    own = {"HTTP_AUTHORIZATION": f"Token {live_key}", "HTTP_X_CLIENT_ACCOUNT_ID": str(world.a.id)}
    header_sets = {
        "missing_token": {},
        "expired_token": {"HTTP_AUTHORIZATION": f"Token {expired_key}"},
        "forged_tenant": {"HTTP_AUTHORIZATION": f"Token {live_key}", "HTTP_X_CLIENT_ACCOUNT_ID": str(world.b.id)},
    }
    table: dict[str, dict[str, tuple[int, str, str] | None]] = {}
    problems = []
    for endpoint, cells in _endpoints(setup).items():
        row = {}
        reference = cells.get("valid") or next(r for r in cells.values() if r is not None)
        for cls, _ in CLASSES:
            if cls in header_sets:
                if endpoint == "POST /api/v1/auth/token/":
                    row[cls] = None  # login takes no token and no tenant
                    continue
                req, headers = reference, header_sets[cls]
            else:
                req, headers = cells.get(cls), (own if endpoint != "POST /api/v1/auth/token/" else {})
                if req is None:
                    row[cls] = None
                    continue
            cache.clear()  # throttles count per test client; the matrix measures validation
            response = _send(client, req, headers)
            code, message = _message(response)
            row[cls] = (response.status_code, code, message)
            status = response.status_code
            if status >= 500:
                problems.append(f"{endpoint} / {cls}: {status} {code} {message}")
            elif cls == "valid" and not 200 <= status < 300:
                problems.append(f"{endpoint} / valid: {status} {code} {message}")
            elif cls in ("wrong_types", "vector_length", "nan", "huge") and not _refused_for_bad_input(status):
                problems.append(f"{endpoint} / {cls}: accepted ({status})")
            elif cls == "other_tenant" and not (400 <= status < 500) and not _empty_list(response):
                problems.append(f"{endpoint} / other tenant's ids: {status}")
            elif cls in ("missing_token", "expired_token") and status != 401:
                problems.append(f"{endpoint} / {cls}: {status} instead of 401")
            elif cls == "forged_tenant" and (status, code) != (403, "tenant_forbidden"):
                problems.append(f"{endpoint} / forged X-Client-Account-Id: {status} {code}")
            elif cls == "unknown_fields" and (status >= 400) != (row["valid"][0] >= 400 if row.get("valid") else False):
                problems.append(f"{endpoint} / unknown fields changed the outcome: {status}")
            if response.status_code < 300 and response.content and cls == "unknown_fields" and isinstance(response.json(), dict):
                body = response.json()
                if "client_account_id" in body and body["client_account_id"] not in (str(world.a.id), None):
                    problems.append(f"{endpoint} / unknown fields moved a row to {body['client_account_id']}")
        table[endpoint] = row
    _write_doc(table)
    assert problems == []
    # Unknown fields were ignored: the approval applied the requested viewer role, not platform_admin...
    from tenancy.models import ClientMembership, User

    with tenant_context(world.a.id):
        assert ClientMembership.objects.get(user=world.a.spare_user, client_account_id=world.a.id).role == "viewer"
        assert not User.objects.get(pk=world.a.spare_user.pk).is_platform_admin
    # ...and the unknown client_account_id of the create left the pattern in tenant A.
    with tenant_context(world.b.id):
        from patterns.models import AgentDiscoveredPattern

        assert not AgentDiscoveredPattern.objects.filter(pattern_name="Sybase end of support").exists()


def _write_doc(table) -> None:
    lines = [
        START,
        "",
        "| endpoint | " + " | ".join(title for _, title in CLASSES) + " |",
        "| --- | " + " | ".join("---" for _ in CLASSES) + " |",
    ]
    for endpoint, row in table.items():
        cells = []
        for cls, _ in CLASSES:
            cell = row.get(cls)
            if cell is None:
                cells.append("n/a")
                continue
            status, code, message = cell
            text = f"**{status}**" + (f" `{code}`" if code else "") + (f": {message}" if code and message else "")
            cells.append(text.replace("|", "\\|"))
        lines.append(f"| `{endpoint}` | " + " | ".join(cells) + " |")
    lines += ["", END]
    current = DOC.read_text()
    before, rest = current.split(START, 1)
    after = rest.split(END, 1)[1]
    DOC.write_text(before + "\n".join(lines) + after)
