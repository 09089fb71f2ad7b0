"""How the hybrid reads the store: nearest concepts and many concepts in one call."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from functools import partial

import numpy as np

from sutra.storage.client import MAX_GET_CONCEPTS, Concept, SearchHit, StorageClient


def similar_concepts(storage: StorageClient, vector: np.ndarray, k: int) -> list[SearchHit]:
    """The stored concepts closest to `vector`; none for a text with no features at all.

    A text of stop words only ("of the") embeds to the zero vector, which has no direction
    and so no nearest neighbours: the storage server rightly refuses it, so do not ask.
    """
    if not vector.any():
        return []
    return storage.vector_search(vector, k=k)


def read_concepts(
    storage: StorageClient, pool: Executor, ids: Sequence[str], *, embedding: bool = False
) -> list[Concept | None]:
    """The concepts of `ids` in order, None for an unknown id, in one round trip.

    One GetConcepts call per MAX_GET_CONCEPTS ids; the chunks of a longer list (rare) go
    out concurrently on `pool`.
    """
    if len(ids) <= MAX_GET_CONCEPTS:
        return storage.get_concepts(ids, embedding=embedding)
    chunks = [ids[i : i + MAX_GET_CONCEPTS] for i in range(0, len(ids), MAX_GET_CONCEPTS)]
    read = partial(storage.get_concepts, embedding=embedding)
    return [concept for chunk in pool.map(read, chunks) for concept in chunk]
