"""Shared helpers of the storage tests."""

from __future__ import annotations

import numpy as np

DIMENSION = 384


def vector(seed: int, dimension: int = DIMENSION) -> np.ndarray:
    """A deterministic pseudo-random unit vector."""
    v = np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)
    return v / np.linalg.norm(v)
