"""The hashing embedder, the embedding cache and the micro-batching queue (in process)."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import numpy as np
import pytest

from sutra.hybrid.batching import EmbeddingService, EmbedQueueFull
from sutra.hybrid.embeddings import (
    HASH_FEATURES,
    DimensionMismatch,
    EmbeddingCache,
    HashingEmbedder,
    check_dimension,
    make_embedder,
)
from sutra.hybrid.features import (
    char_wb_ngrams,
    content_text,
    signed_hash,
    word_ngrams,
    word_tokens,
)
from sutra.stack.demo import demo_facts

TEXTS = [
    "The heart pumps blood through the body.",
    "Blood is pumped by the heart.",
    "Paris is the capital of France.",
]


@pytest.fixture(scope="module")
def embedder() -> HashingEmbedder:
    return HashingEmbedder(384)


def test_rows_are_float32_unit_vectors_of_the_dimension(embedder: HashingEmbedder) -> None:
    matrix = embedder.embed(TEXTS)
    assert matrix.dtype == np.float32
    assert matrix.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, rtol=1e-5)
    assert HashingEmbedder(64).embed(["x y z"]).shape == (1, 64)


def test_similar_texts_are_closer_than_unrelated_ones(embedder: HashingEmbedder) -> None:
    heart, pumped, paris = embedder.embed(TEXTS)
    assert float(heart @ pumped) > float(heart @ paris) + 0.2
    assert float(pumped @ paris) < 0.2


def test_same_vector_in_another_process(embedder: HashingEmbedder) -> None:
    """No salted hash(): a fresh interpreter (other PYTHONHASHSEED) gives identical bytes."""
    code = (
        "import sys; from sutra.hybrid.embeddings import HashingEmbedder; "
        "sys.stdout.write(HashingEmbedder(384).embed([sys.argv[1]]).tobytes().hex())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, TEXTS[0]],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    ).stdout
    assert bytes.fromhex(out) == embedder.embed([TEXTS[0]]).tobytes()


# The demo facts plus what trips n-gram code: runs of white space, one- and two-letter words,
# accents and other scripts, digits, punctuation only, stop words only, nothing at all.
CORPUS = [
    *demo_facts(),
    "  Tabs\tand\n\nnewlines   between    words  ",
    "A b cd EFG hijk",
    "Ünïcode café naïve Zürich — 東京 is in Japan; Москва is in Russia.",
    "R2-D2 & C-3PO, 3.14 x 10^6!",
    "...!?",
    "the of and to is",
    "",
]


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """scikit-learn's own vectorizers, configured as the embedder describes its features."""
    from sklearn.feature_extraction.text import HashingVectorizer

    common = {"n_features": HASH_FEATURES, "alternate_sign": True, "lowercase": True}
    word = HashingVectorizer(
        analyzer="word", ngram_range=(1, 2), tokenizer=word_tokens, token_pattern=None, **common
    )
    char = HashingVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), preprocessor=content_text, **common
    )
    return {"word": word, "char": char}


@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_features_are_scikit_learns(
    embedder: HashingEmbedder, reference: dict[str, Any], text: str
) -> None:
    from sklearn.utils import murmurhash3_32

    ours = {"word": word_ngrams, "char": char_wb_ngrams}
    for family, vectorizer in reference.items():
        tokens = ours[family](text)
        assert tokens == vectorizer.build_analyzer()(text), family
        assert [signed_hash(t) for t in tokens] == [
            murmurhash3_32(t, positive=False) for t in tokens
        ]
        expected = vectorizer.transform([text]).tocoo()
        index, values = embedder.features(text, ours[family])
        assert sorted(expected.col.tolist()) == index.tolist(), family
        order = np.argsort(expected.col)
        np.testing.assert_allclose(values, expected.data[order], rtol=1e-6)


def test_the_service_does_not_load_scikit_learn() -> None:
    code = (
        "import sys; from sutra.hybrid.embeddings import HashingEmbedder; "
        "HashingEmbedder(384).embed(['x']); print('sklearn' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_empty_text_is_a_zero_vector(embedder: HashingEmbedder) -> None:
    assert not embedder.embed(["..."]).any()


def test_dimension_mismatch_is_refused_with_both_sizes() -> None:
    with pytest.raises(DimensionMismatch, match=r"128.*384"):
        check_dimension(HashingEmbedder(128), 384)
    assert make_embedder("hashing", 256).dimension == 256
    with pytest.raises(ValueError, match="unknown embedder"):
        make_embedder("magic", 384)


def test_cache_is_lru() -> None:
    cache = EmbeddingCache(2)
    a, b, c = (np.full(2, i, dtype=np.float32) for i in range(3))
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is a  # a is now the most recent
    cache.put("c", c)
    assert cache.get("b") is None
    assert cache.get("a") is a and cache.get("c") is c
    assert (cache.hits, cache.misses) == (3, 1)


def test_concurrent_texts_are_embedded_in_micro_batches(embedder: HashingEmbedder) -> None:
    service = EmbeddingService(embedder, batch_size=64, batch_wait=0.05, queue_size=1000)
    service.start()
    try:
        texts = [f"fact number {i} about the heart" for i in range(40)]
        results: dict[int, np.ndarray] = {}
        start = threading.Barrier(8)

        def worker(index: int) -> None:
            start.wait()
            results[index] = service.embed(texts[index * 5 : index * 5 + 5])

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        registry = service.metrics.registry
        embedded = registry.get_sample_value("sutra_hybrid_embed_batch_texts_sum")
        calls = registry.get_sample_value("sutra_hybrid_embed_batch_texts_count")
        assert embedded == 40  # every text embedded exactly once ...
        assert calls is not None and calls < 8  # ... in fewer calls than there were requests
        for index, rows in results.items():
            np.testing.assert_array_equal(rows, embedder.embed(texts[index * 5 : index * 5 + 5]))
        # Second time round: all from the cache, nothing queued.
        service.embed(texts[:5])
        assert registry.get_sample_value("sutra_hybrid_embed_batch_texts_count") == calls
        assert service.cache.hits >= 5
    finally:
        service.stop()


def test_full_queue_refuses_at_once(embedder: HashingEmbedder) -> None:
    service = EmbeddingService(embedder, queue_size=3)
    service.start()
    try:
        with pytest.raises(EmbedQueueFull, match="queue is full"):
            service.embed([f"text {i}" for i in range(4)])
        assert service.depth() == 0
        assert service.embed(["text 1", "text 2", "text 3"]).shape == (3, 384)
    finally:
        service.stop()
