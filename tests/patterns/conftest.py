"""Helpers for the pattern tests: vectors with a known geometry, rows in bulk."""

import numpy as np
import pytest

from patterns.models import EMBEDDING_DIMENSIONS, AgentDiscoveredPattern
from seeding.factories.patterns import AgentDiscoveredPatternFactory


def unit(vectors) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def random_unit(rng: np.random.Generator, n: int) -> np.ndarray:
    return unit(rng.standard_normal((n, EMBEDDING_DIMENSIONS)))


def near(rng: np.random.Generator, query: np.ndarray, n: int, *, low: float = 0.3, high: float = 0.95) -> np.ndarray:
    """n unit vectors whose cosine similarities to ``query`` spread over [low, high]."""
    query = unit(query)
    targets = np.linspace(high, low, n)
    noise = rng.standard_normal((n, EMBEDDING_DIMENSIONS))
    noise -= np.outer(noise @ query, query)
    noise = unit(noise)
    return unit(targets[:, None] * query + np.sqrt(1 - targets[:, None] ** 2) * noise)


def create_patterns(engagement, vectors, **fields) -> list[AgentDiscoveredPattern]:
    """Insert one pattern per vector into ``engagement`` (call inside its tenant context)."""
    rows = [AgentDiscoveredPatternFactory.build(engagement=engagement, embedding=[float(x) for x in v], **fields) for v in vectors]
    return AgentDiscoveredPattern.objects.bulk_create(rows, batch_size=500)


def exact_top(rows: list[AgentDiscoveredPattern], vectors: np.ndarray, query: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The exact top-k (id, cosine similarity) by numpy, nearest first."""
    similarities = unit(vectors) @ unit(query)
    order = sorted(range(len(rows)), key=lambda i: (-similarities[i], str(rows[i].pk)))[:k]
    return [(str(rows[i].pk), float(similarities[i])) for i in order]


@pytest.fixture
def rng():
    return np.random.default_rng(20261204)


def database_env(database_name: str) -> dict[str, str]:
    """Environment for a `manage.py` subprocess that uses ``database_name`` (both roles)."""
    import os
    from urllib.parse import quote

    from django.db import connections

    def url(alias: str) -> str:
        s = connections[alias].settings_dict
        host = s["HOST"] or s.get("OPTIONS", {}).get("host", "")
        return f"postgres://{quote(s['USER'], safe='')}:{quote(s['PASSWORD'], safe='')}@:{s['PORT']}/{database_name}?host={quote(host, safe='/')}"

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": url("owner"),
        "DATABASE_RUNTIME_URL": url("default"),
        "PYTHONUNBUFFERED": "1",
    }


def manage(*args: str, database_name: str, check: bool = True, **popen):
    """Run `python manage.py <args>` against ``database_name``; return the CompletedProcess."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, str(root / "manage.py"), *args],
        env=database_env(database_name),
        cwd=root,
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
        **popen,
    )
