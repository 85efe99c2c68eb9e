"""Embedders: text -> 1536-d vectors, behind one interface.

``get_embedder()`` returns the embedder chosen by ``settings.EMBEDDING_PROVIDER``:
``local`` (default; offline, deterministic feature hashing) or ``openai``
(text-embedding-3-small over HTTP). Every embedder has a ``model_name`` that is stored
next to each vector (``embedding_model``), so vectors of different embedders are never
compared and ``backfill_pattern_embeddings --reembed`` knows what to redo.
"""

from __future__ import annotations

import functools
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from patterns.models import EMBEDDING_DIMENSIONS

__all__ = ["EMBEDDING_DIMENSIONS", "Embedder", "EmbeddingError", "get_embedder"]


class EmbeddingError(RuntimeError):
    """The embedder could not produce vectors (provider unreachable, refused, malformed)."""


class Embedder(Protocol):
    model_name: str
    dimensions: int

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """One L2-normalised vector of ``dimensions`` floats per text, in order."""
        ...


@functools.cache
def _embedder(provider: str) -> Embedder:
    if provider == "local":
        from patterns.embedders.local import LocalHashingEmbedder

        return LocalHashingEmbedder()
    if provider == "openai":
        from patterns.embedders.openai import OpenAIEmbedder

        return OpenAIEmbedder(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL,
            model=settings.OPENAI_EMBEDDING_MODEL,
            timeout_seconds=settings.OPENAI_TIMEOUT_SECONDS,
            max_retries=settings.OPENAI_MAX_RETRIES,
            batch_size=settings.EMBEDDING_BATCH_SIZE,
        )
    raise ImproperlyConfigured(f"EMBEDDING_PROVIDER={provider!r} is not one of: local, openai.")


def get_embedder() -> Embedder:
    """The configured embedder (one instance per provider and process)."""
    return _embedder(settings.EMBEDDING_PROVIDER)
