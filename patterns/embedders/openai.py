"""OpenAI embeddings (text-embedding-3-small, 1536 dimensions) over plain HTTP.

Batched requests, a timeout on every request, and retries with exponential backoff and
jitter on rate limits (429, honouring Retry-After), server errors and network failures.
Other 4xx answers are not retried: they will not get better.
"""

from __future__ import annotations

import logging
import random
import time

import httpx
from django.core.exceptions import ImproperlyConfigured

from patterns.embedders import EmbeddingError
from patterns.models import EMBEDDING_DIMENSIONS

logger = logging.getLogger(__name__)

_RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
_MAX_BACKOFF_SECONDS = 30.0


class OpenAIEmbedder:
    dimensions = EMBEDDING_DIMENSIONS

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.openai.com/v1",
        model: str = "text-embedding-3-small",
        timeout_seconds: float = 20.0,
        max_retries: int = 4,
        batch_size: int = 256,
        backoff_seconds: float = 0.5,
    ):
        if not api_key:
            raise ImproperlyConfigured("EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY (set it in the environment or .env).")
        self.model = model
        self.model_name = f"openai/{model}"
        self.max_retries = max_retries
        self.batch_size = max(1, batch_size)
        self.backoff_seconds = backoff_seconds
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout_seconds),
        )

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """Vectors for ``texts`` in order; raises EmbeddingError once retries are spent."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors.extend(self._embed_batch(texts[start : start + self.batch_size]))
        return vectors

    def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        if any(not text or not text.strip() for text in batch):
            raise ValueError("Cannot embed an empty text.")
        payload = {"model": self.model, "input": batch, "encoding_format": "float", "dimensions": self.dimensions}
        attempt = 0
        while True:
            delay = None
            try:
                response = self._client.post("/embeddings", json=payload)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return self._vectors(response, expected=len(batch))
                failure = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code not in _RETRYABLE_STATUS:
                    raise EmbeddingError(f"OpenAI refused the embedding request ({failure}).")
                delay = _retry_after(response)
            if attempt >= self.max_retries:
                raise EmbeddingError(f"OpenAI embeddings failed after {attempt + 1} attempts (last: {failure}).")
            if delay is None:
                delay = self.backoff_seconds * (2**attempt) * (0.5 + random.random())
            delay = min(delay, _MAX_BACKOFF_SECONDS)
            logger.warning("OpenAI embeddings: %s; retry %d/%d in %.2fs", failure, attempt + 1, self.max_retries, delay)
            time.sleep(delay)
            attempt += 1

    def _vectors(self, response: httpx.Response, *, expected: int) -> list[list[float]]:
        try:
            items = sorted(response.json()["data"], key=lambda item: item["index"])
            vectors = [[float(x) for x in item["embedding"]] for item in items]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(f"OpenAI returned a malformed embeddings body ({exc}).") from exc
        if len(vectors) != expected or any(len(v) != self.dimensions for v in vectors):
            raise EmbeddingError(
                f"OpenAI returned {len(vectors)} vectors of {sorted({len(v) for v in vectors})} dimensions; "
                f"expected {expected} of {self.dimensions}."
            )
        return vectors


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
