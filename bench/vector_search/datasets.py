"""Synthetic pattern collections for the vector-search benchmark.

* ``clustered``: 1536-d vectors with the structure of real text embeddings: a mixture of
  clusters in a 64-d latent space, projected to 1536 dimensions, plus isotropic noise.
  (Uniform random 1536-d vectors have no neighbourhood structure at all: every point
  is nearly equidistant from every other, which no embedding model produces.)
* ``text``: pattern names and descriptions built from the seeding vocabulary, embedded by
  the project's local embedder (feature hashing), as the application would store them.

Rows are assigned to tenants at random, independently of where they lie: a small
tenant's rows are scattered over the whole space, the hard case for filtered search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIMENSIONS = 1536
LATENT = 64
CLUSTERS = 100

WORDS = (
    "legacy mainframe batch nightly wave cutover rehost replatform refactor retire retain repurchase latency throughput "
    "storage network firewall subnet vpc peering dns certificate tls kerberos ldap active directory sso okta terraform "
    "ansible jenkins gitlab pipeline container kubernetes helm istio service mesh queue topic kafka rabbitmq mq broker "
    "schema table column index partition replica backup restore snapshot rpo rto failover cluster node shard tenant "
    "customer invoice order ledger payroll inventory warehouse shipment supplier contract claim policy premium patient "
    "sap oracle db2 sqlserver postgresql mysql mongodb redis cassandra snowflake databricks hadoop spark informatica "
    "cobol jcl cics ims rpg java dotnet python nodejs tomcat websphere weblogic jboss iis apache nginx haproxy f5 "
    "vmware hyperv aix solaris rhel windows linux san nas netapp emc iscsi nfs smb s3 blob gcs ebs efs fsx "
    "cost budget reserved savings spot rightsizing idle overprovisioned underutilised peak seasonal month end close "
    "gdpr pci hipaa sox residency encryption kms vault secret rotation audit logging monitoring alerting dashboard "
    "owner business critical tier gold silver bronze sla downtime window freeze approval change board runbook"
).split()


@dataclass
class Dataset:
    kind: str
    vectors: np.ndarray  # float32, unit rows
    names: list[str]
    descriptions: list[str]
    query_vectors: np.ndarray  # float32, unit rows
    query_texts: list[str] | None


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, queries: int, rng: np.random.Generator) -> Dataset:
    centers = rng.standard_normal((CLUSTERS, LATENT)).astype(np.float32)
    projection = (rng.standard_normal((LATENT, DIMENSIONS)) / np.sqrt(LATENT)).astype(np.float32)

    def draw(count: int) -> np.ndarray:
        out = np.empty((count, DIMENSIONS), dtype=np.float32)
        for start in range(0, count, 20000):
            m = min(20000, count - start)
            latent = centers[rng.integers(0, CLUSTERS, m)] + 0.45 * rng.standard_normal((m, LATENT)).astype(np.float32)
            out[start : start + m] = latent @ projection + 0.3 * rng.standard_normal((m, DIMENSIONS)).astype(np.float32)
        return _unit(out)

    names = [f"Synthetic pattern {i:06d}" for i in range(n)]
    return Dataset("clustered", draw(n), names, [""] * n, draw(queries), None)


def _sentence(rng: np.random.Generator, length: int) -> str:
    return " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), length))


def text(n: int, queries: int, rng: np.random.Generator) -> Dataset:
    from patterns.embedders.local import LocalHashingEmbedder
    from patterns.services import pattern_text
    from seeding.factories.patterns import FINDINGS, TECHNOLOGIES

    templates = [t for options in FINDINGS.values() for t in options]
    names, descriptions = [], []
    for _ in range(n):
        name, description = templates[rng.integers(len(templates))]
        a, b = TECHNOLOGIES[rng.integers(len(TECHNOLOGIES))], TECHNOLOGIES[rng.integers(len(TECHNOLOGIES))]
        names.append(name.format(a=a, b=b))
        descriptions.append(f"{description.format(a=a, b=b)} Observed: {_sentence(rng, int(rng.integers(8, 20)))}.")
    embedder = LocalHashingEmbedder()
    vectors = np.asarray(
        embedder.embed_texts([pattern_text(pattern_name=a, pattern_description=b) for a, b in zip(names, descriptions)]),
        dtype=np.float32,
    )
    # A query restates a stored finding in other words: its name, a few of its words, some new ones.
    query_texts = []
    for i in rng.integers(0, n, queries):
        words = descriptions[i].split()
        kept = [w for w in words if rng.random() < 0.5]
        query_texts.append(f"{names[i]} {' '.join(kept)} {_sentence(rng, 4)}")
    query_vectors = np.asarray(embedder.embed_texts(query_texts), dtype=np.float32)
    return Dataset("text", vectors, names, descriptions, query_vectors, query_texts)


def tenant_assignment(n: int, shares: dict[str, float], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Row indices per tenant label, at random; the shares' remainder goes to 'others'."""
    order = rng.permutation(n)
    assigned, start = {}, 0
    for label, share in shares.items():
        count = max(1, int(round(n * share)))
        assigned[label] = np.sort(order[start : start + count])
        start += count
    assigned["others"] = np.sort(order[start:])
    return assigned
