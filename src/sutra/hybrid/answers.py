"""Answering a parsed question over the labelled relations between entities.

From the entity the question names, the search follows edges in the direction the
question asks (toward targets for "what does X cause", toward sources for "who wrote X"),
at most three hops:

- before the matching edge, only "is a" and "part of" edges (the subject's facts may be
  its kind's or its whole's: "the heart is part of the circulatory system, which
  transports oxygen");
- one edge whose label matches the asked relation (`matching.RelationMatch`);
- after it, only edges that extend such a relation ("London is in England" after "grew
  up in London"; a cause's cause; a kind's kind).

An answer's graph score is its path's confidence, its semantic score the match quality
times how well it fits the kind asked for ("which country": an entity known to be a
city does not fit; one of unknown kind fits less than a known country); the final
confidence weighs them with `semantic_boost` like every other answer. The entity at the
end of the best path answers; the path is the evidence. Yes/no questions look for a
path from one named entity to the other: found, "yes"; a negated fact or the relation
leading elsewhere, "no"; nothing at all, "unknown".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np

from sutra.hybrid.matching import RelationMatch, bridges, content_of, edge_key, kind_word
from sutra.hybrid.paths import FoundPath, Step, combine, path_confidence, path_json, rounded
from sutra.hybrid.questions import YES_NO, Question
from sutra.hybrid.relations import classify
from sutra.storage.client import AssociationType, Concept, Direction, StorageClient

MAX_HOPS = 3
FRONTIER = 48  # partial paths carried from one hop to the next
UNTYPED = 0.85  # an answer of unknown kind, when the question asks for a kind
NO_ELSEWHERE = 0.7  # a "no" because the relation leads to other entities
NEGATED = 0.9  # a "no" read from a negated fact
_LINKS = frozenset({"states", "mentions"})  # statement -> entity edges, not relations
T = TypeVar("T")


class Reader(Protocol):
    """What the answerer needs from the query that runs it."""

    storage: StorageClient
    concepts: dict[str, Concept | None]

    def fetch(self, ids: Sequence[str]) -> None: ...
    def content(self, concept_id: str) -> str: ...
    def read_all(self, fn: Callable[[str], T], items: Sequence[str]) -> list[T]: ...
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Edge:
    other: str
    step: Step
    forward: bool  # walked source -> target
    key: str
    negated: bool
    kind: AssociationType  # the relation's type (a negated one's: as if it were stated)


@dataclass
class Candidate:
    ids: list[str]
    steps: list[Step] = field(default_factory=list)
    match: float = 0.0
    graph: float = 0.0
    semantic: float = 0.0
    final: float = 0.0


class Graph:
    """Labelled neighbours, read once per node, several nodes at a time."""

    def __init__(self, reader: Reader, limit: int) -> None:
        self.reader = reader
        self.limit = limit
        self.cache: dict[str, list[Edge]] = {}

    def read(self, nodes: Sequence[str]) -> None:
        missing = sorted({n for n in nodes if n not in self.cache})
        for node, edges in zip(missing, self.reader.read_all(self._read, missing), strict=True):
            self.cache[node] = edges

    def edges(self, node: str) -> list[Edge]:
        self.read([node])
        return self.cache[node]

    def _read(self, node: str) -> list[Edge]:
        found: list[Edge] = []
        for n in self.reader.storage.get_neighbors(node, limit=self.limit):
            if n.label in _LINKS or (not n.label and n.type == AssociationType.SEMANTIC):
                continue
            forward = n.direction == Direction.OUTGOING
            source, target = (node, n.concept_id) if forward else (n.concept_id, node)
            step = Step(source, target, n.type, n.confidence, n.label)
            negated = n.label.startswith("not ")
            stated = n.label[4:] if negated else n.label
            kind = classify(stated)[0] if negated else n.type
            key = edge_key(stated, n.type)
            found.append(Edge(n.concept_id, step, forward, key, negated, kind))
        found.sort(key=lambda e: (e.other, e.forward, int(e.step.type), e.step.label))
        return found


class Answerer:
    def __init__(
        self, reader: Reader, question: Question, *, boost: float, max_depth: int, limit: int
    ) -> None:
        self.reader = reader
        self.question = question
        self.boost = boost
        self.hops = max(1, min(max_depth, MAX_HOPS))
        self.match = RelationMatch(question.label)
        self.graph = Graph(reader, limit)

    # ------------------------------------------------------------------ search

    def walk(self, anchor: str, asks: str) -> list[Candidate]:
        """Every path from `anchor` that answers: bridges, one match, extensions."""
        found: list[Candidate] = []
        frontier: list[tuple[Candidate, bool]] = [(Candidate([anchor]), False)]
        for _ in range(self.hops):
            self.graph.read([c.ids[-1] for c, _ in frontier])
            self._similarities([e for c, _ in frontier for e in self.graph.edges(c.ids[-1])])
            following: list[tuple[Candidate, bool]] = []
            for candidate, matched in frontier:
                for edge in self.graph.edges(candidate.ids[-1]):
                    onward = edge.forward if asks == "target" else not edge.forward
                    if edge.negated or not onward or edge.other in candidate.ids:
                        continue
                    following += self._extend(candidate, matched, edge, asks, found)
            frontier = following[:FRONTIER]
            if not frontier:
                break
        return found

    def _extend(
        self, candidate: Candidate, matched: bool, edge: Edge, asks: str, found: list[Candidate]
    ) -> list[tuple[Candidate, bool]]:
        longer = Candidate([*candidate.ids, edge.other], [*candidate.steps, edge.step])
        kind = edge.step.type
        if matched:
            if not self.match.continues(edge.key, kind):
                return []
            longer.match = candidate.match
            found.append(longer)
            return [(longer, True)]
        quality = self.match.score(edge.key, kind)
        if quality > 0:
            longer.match = quality
            found.append(longer)
            return [(longer, True)]
        if asks == "target" and bridges(edge.key, kind):
            return [(longer, False)]
        return []

    def _similarities(self, edges: list[Edge]) -> None:
        """Embed the keys not matched by words, so synonyms can match by meaning."""
        keys = sorted(
            {
                e.key
                for e in edges
                if e.key and e.key not in self.match.similar and self.match.key
                if self.match.score(e.key, e.step.type) == 0
            }
        )
        if not keys:
            return
        vectors = self.reader.embed([self.match.key, *keys])
        for key, vector in zip(keys, vectors[1:], strict=True):
            self.match.similar[key] = max(0.0, float(np.dot(vectors[0], vector)))

    # ----------------------------------------------------------------- scoring

    def kinds(self, node: str) -> set[str]:
        """What an entity is known to be: its "is a" targets' heads, the nouns of the
        relations it is the subject of ("is the capital of" -> capital), its own head."""
        found = {kind_word(self.reader.content(node).split()[-1])}
        for edge in self.graph.edges(node):
            if not edge.forward or edge.negated:
                continue
            if edge.step.type == AssociationType.HIERARCHICAL and edge.key == "":
                found.add(kind_word(self.reader.content(edge.other).split()[-1]))
            nouns = content_of(edge.key)  # "is the capital of" -> ("capital",)
            copular = edge.step.label.split()[:1] in (["is"], ["was"], ["are"])
            if copular and nouns and edge.key.split()[-1] in ("of", "in", "on"):
                found.add(kind_word(nouns[-1]))
        return found

    def fit(self, node: str) -> float:
        focus = kind_word(self.question.focus)
        if not focus or focus in ("person", "one", "thing"):
            return 1.0
        kinds = self.kinds(node)
        if focus in kinds:
            return 1.0
        head = kind_word(self.reader.content(node).split()[-1])
        return UNTYPED if kinds <= {head} else 0.0

    def score(self, candidates: list[Candidate]) -> list[Candidate]:
        ends = sorted({c.ids[-1] for c in candidates})
        self.reader.fetch(ends)
        if self.question.focus:
            self.graph.read(ends)
            self.reader.fetch([e.other for n in ends for e in self.graph.edges(n)])
        fits = {node: self.fit(node) for node in ends}
        for c in candidates:
            c.graph = path_confidence([s.confidence for s in c.steps])
            c.semantic = c.match * fits[c.ids[-1]]
            c.final = combine(c.graph, c.semantic, self.boost)
        kept = [c for c in candidates if c.final > 0]
        kept.sort(key=lambda c: (-c.final, len(c.steps), c.ids))
        return kept

    # ----------------------------------------------------------------- answers

    def answer(self, anchor: str, other: str | None = None) -> dict[str, object] | None:
        """The response for a question whose named entity is `anchor` (and, for yes/no,
        `other`), or None when nothing stored answers it."""
        if self.question.kind == YES_NO:
            return self.yes_no(anchor, other)
        ranked = self.score(self.walk(anchor, self.question.asks))
        if not ranked:
            return None
        best: dict[str, Candidate] = {}
        for c in ranked:
            best.setdefault(c.ids[-1], c)
        answers = list(best.values())
        top = answers[0]
        shown = [c for c in ranked if c.ids[-1] == top.ids[-1]][:1] + answers[1:]
        return self.respond(
            self.reader.content(top.ids[-1]),
            top,
            shown,
            alternatives=answers[1:],
            kind="entity",
        )

    def yes_no(self, anchor: str, other: str | None) -> dict[str, object] | None:
        if other is None:
            return None
        ranked = self.score(self.walk(anchor, "target"))
        hits = [c for c in ranked if c.ids[-1] == other]
        if hits:
            return self.respond("yes", hits[0], hits, kind="yes_no")
        negated = self.negation(anchor, other)
        if negated is not None:
            return self.respond("no", negated, [negated], kind="yes_no")
        if ranked:  # the relation leads elsewhere
            top = ranked[0]
            top.final *= NO_ELSEWHERE
            return self.respond("no", top, ranked, kind="yes_no", elsewhere=True)
        return None

    def negation(self, anchor: str, other: str) -> Candidate | None:
        for edge in self.graph.edges(anchor):
            if edge.negated and edge.other == other and edge.forward:
                quality = self.match.score(edge.key, edge.kind)
                if quality > 0:
                    c = Candidate([anchor, other], [edge.step], quality)
                    c.graph = path_confidence([edge.step.confidence])
                    c.semantic = quality
                    c.final = combine(c.graph, c.semantic, self.boost) * NEGATED
                    return c
        return None

    def respond(
        self,
        answer: str,
        top: Candidate,
        shown: list[Candidate],
        *,
        kind: str,
        alternatives: Sequence[Candidate] = (),
        elsewhere: bool = False,
    ) -> dict[str, object]:
        content = self.reader.content
        self.reader.fetch([i for c in shown for i in c.ids])
        paths = [
            FoundPath(c.ids, c.steps, path_confidence([s.confidence for s in c.steps]))
            for c in shown
        ]
        said = path_json(paths[0], content)["explanation"]
        if elsewhere:
            explanation = f"No: {said}, and nothing learned connects it to what was asked."
        else:
            explanation = (
                f"{said}. The relation asked about matches "
                f'"{top.steps[-1].label or top.steps[-1].type.name.lower()}" '
                f"(match {top.match:.2f}); {len(top.steps)} hop(s)."
            )
        return {
            "answer": answer,
            "confidence": rounded(top.final),
            "confidence_breakdown": {
                "graph": rounded(top.graph),
                "semantic": rounded(top.semantic),
                "final": rounded(top.final),
            },
            "reasoning_paths": [path_json(p, content) for p in paths],
            "alternatives": [
                {"answer": content(c.ids[-1]), "confidence": rounded(c.final)} for c in alternatives
            ],
            "explanation": explanation,
            "answer_type": kind,
        }
