"""Schemathesis against the OpenAPI schema, every operation, valid and invalid input, with a
valid token on a live server: no 5xx, and every documented response matches the schema.

The schema is generated in-process (so every operation is a test item of its own) and
checked equal to what the live server serves at /api/schema/. Generation is deterministic
in `make test` (the same cases every run); `make soak` draws more cases from a recorded
seed. Failures found once are kept as plain regression tests in test_fuzz_regressions.py.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections import Counter, defaultdict

import httpx
import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.live import gunicorn_server
from tests.reliability.conftest import fleet_build, fleet_remove
from tests.reliability.profile import FUZZ_EXAMPLES, SOAK, figures_record

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
FUZZ_SEED = int(os.environ.get("RELIABILITY_FUZZ_SEED", random.SystemRandom().randrange(2**31) if SOAK else 20261204))
SERVER_ENV = {"SEARCH_THROTTLE_RATE": "1000000/min", "LOGIN_THROTTLE_RATE": "1000000/min"}


def _schema_document() -> dict:
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(_schema_document())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=FUZZ_EXAMPLES,
    with_security_parameters=False,
    database="none",
)
# The coverage phase (boundary values, every method) multiplies the cases: soak only.
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"] if SOAK else ["examples", "fuzzing"])

RESULTS: dict[str, Counter] = defaultdict(Counter)
FAILURES: list[dict] = []


@pytest.fixture(scope="module")
def target(django_db_setup, django_db_blocker):
    """A live server, a committed tenant with patterns, and a way to mint tokens."""
    with django_db_blocker.unblock():
        fleet = fleet_build(f"fuzz{uuid.uuid4().hex[:6]}", tenants=2, clients=1)
        try:
            with gunicorn_server(threads=2, env=SERVER_ENV) as base:
                served = httpx.get(f"{base}/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}, timeout=30)
                assert served.status_code == 200 and served.json() == _schema_document()
                yield {"base": base, "fleet": fleet, "tenant": fleet.tenants[0], "unblock": django_db_blocker.unblock}
        finally:
            fleet_remove(fleet)
    figures_record(
        "fuzz",
        {
            "seed": FUZZ_SEED,
            "examples_per_operation": FUZZ_EXAMPLES,
            "modes": ["positive", "negative"],
            "operations": len(RESULTS),
            "cases": sum(sum(c.values()) for c in RESULTS.values()),
            "responses_5xx": sum(n for c in RESULTS.values() for status, n in c.items() if status >= 500),
            "by_operation": {op: dict(sorted(c.items())) for op, c in sorted(RESULTS.items())},
            "failures": FAILURES[:20],
        },
    )


def _fresh_token(target) -> str:
    from tenancy.context import platform_context
    from tenancy.models import User
    from tenancy.services import api_token_create

    with target["unblock"](), platform_context(reason="tests: a token for the fuzzer to revoke"):
        return api_token_create(user=User.objects.get(pk=target["tenant"].user_ids[0]))[0]


@schema.parametrize()
@seed(FUZZ_SEED)
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=not SOAK, max_examples=FUZZ_EXAMPLES)
def test_operation_survives_generated_input(case, target):
    tenant = target["tenant"]
    # Revoking is part of the surface: it gets a token of its own.
    token = _fresh_token(target) if case.path.endswith("/auth/token/revoke/") else tenant.tokens[0]
    if "pattern_id" in (case.path_parameters or {}) and random.Random(str(case.path_parameters)).random() < 0.5:
        # Half the cases reach a real pattern of the tenant instead of a random UUID.
        case.path_parameters["pattern_id"] = random.Random(str(case.body)).choice(tenant.pattern_ids)
    headers = {"Authorization": f"Token {token}", "X-Client-Account-Id": tenant.id}
    response = case.call(base_url=target["base"], headers=headers, timeout=30)
    RESULTS[f"{case.method.upper()} {case.path}"][response.status_code] += 1
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseException as exc:  # schemathesis raises an exception group
        FAILURES.append({"operation": f"{case.method.upper()} {case.path}", "status": response.status_code, "curl": case.as_curl_command(), "error": str(exc)[:500]})
        raise
