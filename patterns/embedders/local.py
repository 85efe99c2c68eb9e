"""An offline, deterministic embedder: signed feature hashing of words, bigrams, trigrams.

No model download, no network: every text maps to the same vector on every machine and
Python version (blake2b, not the per-process salted ``hash()``). Texts that share words
and phrases get nearby vectors, which is what duplicate detection and the tests need; it
knows no synonyms (use the ``openai`` embedder for meaning).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re

import numpy as np

from patterns.models import EMBEDDING_DIMENSIONS

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Phrases weigh more than single words; character trigrams (weighted less) let "database"
# and "databases" or "PostgreSQL"/"Postgres" meet.
_UNIGRAM_WEIGHT = 1.0
_BIGRAM_WEIGHT = 1.5
_TRIGRAM_WEIGHT = 0.35


@functools.lru_cache(maxsize=1 << 17)
def _slot(feature: str) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    # The sign bit spreads collisions into noise instead of bias.
    return value % EMBEDDING_DIMENSIONS, (1.0 if (value >> 63) & 1 else -1.0)


def _features(text: str) -> dict[str, float]:
    words = _WORD.findall(text.lower())
    counts: dict[str, float] = {}
    for word in words:
        key = "w:" + word
        counts[key] = counts.get(key, 0.0) + _UNIGRAM_WEIGHT
        padded = f"<{word}>"
        for i in range(len(padded) - 2):
            key = "c:" + padded[i : i + 3]
            counts[key] = counts.get(key, 0.0) + _TRIGRAM_WEIGHT
    for first, second in zip(words, words[1:]):
        key = f"b:{first} {second}"
        counts[key] = counts.get(key, 0.0) + _BIGRAM_WEIGHT
    if not counts:
        stripped = text.strip()
        # Punctuation only ("???", "->"): still a distinct, stable vector.
        for i in range(max(1, len(stripped) - 2)):
            key = "r:" + stripped[i : i + 3]
            counts[key] = counts.get(key, 0.0) + 1.0
    return counts


class LocalHashingEmbedder:
    """Feature hashing into 1536 signed buckets, sublinear tf, L2-normalised."""

    model_name = "local-hashing-v1"
    dimensions = EMBEDDING_DIMENSIONS

    def embed_text(self, text: str) -> list[float]:
        """The vector of one text; raises ValueError for an empty or blank text."""
        if not text or not text.strip():
            raise ValueError("Cannot embed an empty text.")
        vector = np.zeros(EMBEDDING_DIMENSIONS, dtype=np.float64)
        for feature, weight in _features(text).items():
            slot, sign = _slot(feature)
            # Sublinear tf: a word repeated ten times is not ten times as telling.
            vector[slot] += sign * (1.0 + math.log(weight)) if weight >= 1.0 else sign * weight
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            # Every feature cancelled out (possible only for pathological inputs).
            vector[_slot("r:" + text.strip())[0]] = 1.0
            norm = 1.0
        return (vector / norm).tolist()

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_text(text) for text in texts]
