import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured

from patterns.embedders import EMBEDDING_DIMENSIONS, EmbeddingError, get_embedder
from patterns.embedders.local import LocalHashingEmbedder
from patterns.embedders.openai import OpenAIEmbedder

# --- local -------------------------------------------------------------------------------


def _cos(a, b):
    return float(np.dot(a, b))


def test_local_vectors_are_1536_d_and_unit_length():
    vectors = LocalHashingEmbedder().embed_texts(["Oracle RAC cluster on AIX", "x", "???"])
    assert [len(v) for v in vectors] == [EMBEDDING_DIMENSIONS] * 3
    assert [np.linalg.norm(v) for v in vectors] == pytest.approx([1.0, 1.0, 1.0], abs=1e-9)


def test_local_embedder_is_the_default(settings):
    settings.EMBEDDING_PROVIDER = "local"
    assert get_embedder().model_name == LocalHashingEmbedder.model_name


def test_local_texts_sharing_words_and_phrases_are_closer_than_unrelated_ones():
    embed = LocalHashingEmbedder().embed_text
    base = embed("Nightly COBOL batch jobs feed the SAP ECC general ledger")
    paraphrase = embed("The nightly COBOL batch jobs feed SAP ECC ledger postings")
    same_words_other_order = embed("SAP ECC ledger general the feed jobs batch COBOL nightly")
    unrelated = embed("Customer portal traffic peaks during the holiday season")
    assert _cos(base, paraphrase) > 0.5
    assert _cos(base, unrelated) < 0.15
    # Bigrams make word order count: the shuffled text shares words, not phrases.
    assert _cos(base, paraphrase) > _cos(base, same_words_other_order) > _cos(base, unrelated)


def test_local_character_trigrams_relate_word_forms():
    embed = LocalHashingEmbedder().embed_text
    assert _cos(embed("databases"), embed("database")) > 0.4
    assert _cos(embed("databases"), embed("kubernetes")) < 0.2


def test_local_embedding_is_stable_across_processes_and_hash_seeds():
    # Python's hash() is salted per process; the embedder must not depend on it.
    code = (
        "from patterns.embedders.local import LocalHashingEmbedder as E; "
        "v = E().embed_text('Oracle Database 12c on RHEL 6'); print(repr(v[:8]), repr(sum(v)))"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "DJANGO_SETTINGS_MODULE": "tests.settings"}
        result = subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); " + code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(result.stdout)
    vector = LocalHashingEmbedder().embed_text("Oracle Database 12c on RHEL 6")
    assert outputs == {f"{vector[:8]!r} {sum(vector)!r}\n"}


def test_local_refuses_an_empty_text():
    with pytest.raises(ValueError):
        LocalHashingEmbedder().embed_texts(["  "])


# --- openai against a local fake server -------------------------------------------------


class FakeOpenAI:
    """A tiny HTTP server on 127.0.0.1 that answers like POST /v1/embeddings."""

    def __init__(self, script):
        self.script = list(script)  # per request: "ok", (status, headers), or "slow"
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                action = fake.script.pop(0) if fake.script else "ok"
                if action == "slow":
                    threading.Event().wait(0.5)
                    action = "ok"
                if action == "ok":
                    data = [
                        {"object": "embedding", "index": i, "embedding": _fake_vector(text)}
                        for i, text in reversed(list(enumerate(body["input"])))
                    ]
                    self._send(200, {"object": "list", "data": data, "model": body["model"]})
                else:
                    status, headers = action
                    self._send(status, {"error": {"message": "fake failure"}}, headers)

            def _send(self, status, payload, headers=None):
                raw = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except BrokenPipeError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _fake_vector(text):
    rng = np.random.default_rng(abs(hash(text)) % (2**32))
    v = rng.standard_normal(EMBEDDING_DIMENSIONS)
    return (v / np.linalg.norm(v)).tolist()


def _embedder(fake, **kwargs):
    options = {"api_key": "sk-test-key", "base_url": fake.base_url, "timeout_seconds": 2.0, "backoff_seconds": 0.01}
    return OpenAIEmbedder(**{**options, **kwargs})


def test_openai_batches_in_order_with_the_key_and_model():
    texts = [f"pattern {i}" for i in range(5)]
    with FakeOpenAI([]) as fake:
        vectors = _embedder(fake, batch_size=2).embed_texts(texts)
    assert vectors == [_fake_vector(t) for t in texts]
    assert [r["body"]["input"] for r in fake.requests] == [texts[0:2], texts[2:4], texts[4:5]]
    assert {r["path"] for r in fake.requests} == {"/v1/embeddings"}
    assert {r["auth"] for r in fake.requests} == {"Bearer sk-test-key"}
    assert {r["body"]["model"] for r in fake.requests} == {"text-embedding-3-small"}


def test_openai_retries_a_429_then_succeeds():
    with FakeOpenAI([(429, {"Retry-After": "0"}), "ok"]) as fake:
        vectors = _embedder(fake).embed_texts(["Oracle to PostgreSQL"])
    assert len(fake.requests) == 2
    assert vectors == [_fake_vector("Oracle to PostgreSQL")]


def test_openai_retries_server_errors_and_timeouts_with_backoff():
    with FakeOpenAI([(503, {}), "slow", "ok"]) as fake:
        vectors = _embedder(fake, timeout_seconds=0.2).embed_texts(["x"])
    assert len(fake.requests) == 3
    assert len(vectors[0]) == EMBEDDING_DIMENSIONS


def test_openai_gives_up_after_max_retries():
    with FakeOpenAI([(429, {"Retry-After": "0"})] * 10) as fake:
        with pytest.raises(EmbeddingError, match="after 3 attempts"):
            _embedder(fake, max_retries=2).embed_texts(["x"])
    assert len(fake.requests) == 3


def test_openai_does_not_retry_a_client_error():
    with FakeOpenAI([(401, {})]) as fake:
        with pytest.raises(EmbeddingError, match="HTTP 401"):
            _embedder(fake).embed_texts(["x"])
    assert len(fake.requests) == 1


def test_openai_needs_a_key():
    with pytest.raises(ImproperlyConfigured, match="OPENAI_API_KEY"):
        OpenAIEmbedder(api_key="")


def test_openai_is_chosen_by_the_setting(settings):
    from patterns.embedders import _embedder as cached

    settings.EMBEDDING_PROVIDER = "openai"
    settings.OPENAI_API_KEY = "sk-test-key"
    cached.cache_clear()
    try:
        assert get_embedder().model_name == "openai/text-embedding-3-small"
    finally:
        cached.cache_clear()
