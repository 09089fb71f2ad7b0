"""Reasoning paths: their edges, their confidence, and how they read aloud.

Shared by the two ways a query is answered (`answers` over labelled relations, and the
statement search of `reasoning`), so a path looks the same in every response.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sutra.hybrid.extraction import is_entity
from sutra.storage.client import AssociationType

HOP_DECAY = 0.99


@dataclass(frozen=True)
class Step:
    """One edge of a path, as stored (source -> target)."""

    source: str
    target: str
    type: AssociationType
    confidence: float
    label: str = ""


@dataclass
class FoundPath:
    ids: list[str]
    steps: list[Step]
    confidence: float = 0.0


@dataclass
class Group:
    answer_id: str
    paths: list[FoundPath] = field(default_factory=list)
    graph: float = 0.0
    semantic: float = 0.0
    final: float = 0.0


def path_confidence(confidences: Sequence[float]) -> float:
    """Harmonic mean of the edge confidences x 0.99 per hop (one weak link drags it down)."""
    if not confidences:
        return 0.0
    if min(confidences) <= 0:
        return 0.0
    harmonic = len(confidences) / sum(1.0 / c for c in confidences)
    return harmonic * HOP_DECAY ** len(confidences)


def combine(graph: float, semantic: float, boost: float) -> float:
    """graph^(1-b) x semantic^b: `semantic_boost` b weighs the two; both must be > 0."""
    if boost <= 0:
        return graph
    if boost >= 1:
        return semantic
    if graph <= 0 or semantic <= 0:
        return 0.0
    return math.exp((1 - boost) * math.log(graph) + boost * math.log(semantic))


def rounded(value: float) -> float:
    return round(float(value), 6)


def _quote(content: str) -> str:
    return content if is_entity(content) else f'"{content}"'


def describe(step: Step, content: Callable[[str], str]) -> str:
    """A stored edge in words: its label when it has one ("ada lovelace grew up in
    london"), else its type ("heart is part of circulatory system")."""
    a, b = content(step.source), content(step.target)
    if step.label and step.label not in ("states", "mentions"):
        return f"{_quote(a)} {step.label} {_quote(b)}"
    if step.type == AssociationType.CAUSAL:
        return f"{_quote(a)} causes {_quote(b)}"
    if step.type == AssociationType.HIERARCHICAL:
        return f"{_quote(a)} is a kind of {_quote(b)}"
    if step.type == AssociationType.COMPOSITIONAL:  # unlabelled: stored container -> part
        return f"{_quote(b)} is part of {_quote(a)}"
    if step.type == AssociationType.TEMPORAL:
        return f"{_quote(a)} comes before {_quote(b)}"
    if not is_entity(a) and is_entity(b):
        return f"{_quote(a)} is about {b}"
    return f"{_quote(a)} is related to {_quote(b)}"


def path_json(path: FoundPath, content: Callable[[str], str]) -> dict[str, object]:
    return {
        "path": [content(i) for i in path.ids],
        "concept_ids": path.ids,
        "edges": [
            {"type": s.type.name.lower(), "confidence": rounded(s.confidence), "label": s.label}
            for s in path.steps
        ],
        "confidence": rounded(path.confidence),
        "explanation": "; ".join(describe(s, content) for s in path.steps),
    }
