"""Multi-path reasoning over the knowledge graph, as the original designed it.

query(text):
1. Concepts the question names outright (an entity whose normalised name is a phrase of
   the question, e.g. "heart") are its anchors; the rest of the question ("what does ...
   help transport") is what it asks. Both are embedded.
2. Vector-search seeds for the question; each seed scores similarity x min(strength / 5,
   1) x confidence. Without anchors, strong neighbours (edge confidence >= 0.6) of the
   best few seeds join the candidates and those seeds are where paths start.
3. Breadth-first search from the anchors (or the best seeds) over the graph in both edge
   directions, bounded by `max_depth` and a visit budget, keeping every shortest way into
   a node. Statements are leaves (answers), entities are bridges, so the budget is spent
   where facts meet. Paths end at the statements reached, candidates first.
4. Path confidence = harmonic mean of its edge confidences x 0.99 per hop.
5. Paths are grouped by their answer (the end statement; near-identical statements are
   one answer). A group's graph score is its mean path confidence x its share of the
   paths (a lone path is penalised); its semantic score is how close the answer is to
   what the question asks. The final confidence weighs them with `semantic_boost` b:
   graph^(1 - b) x semantic^b, so an answer must be both connected and relevant.
6. The best group answers; the next ones are alternatives; the explanation reads the
   best path aloud. With no path, the closest seed statement is a direct semantic match
   (confidence b x similarity: the graph contributes nothing).
Every ordering breaks ties by concept id, so the same data gives the same answer.

With a deadline (a `time.monotonic()` time), storage calls and waits for embeddings end
by it: the first step that finds no time left raises, so the query stops there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sutra.common.tracing import ContextPool
from sutra.hybrid.extraction import STOP_WORDS, is_entity, mention_candidates, tokens
from sutra.hybrid.store import read_concepts, similar_concepts
from sutra.storage.client import AssociationType, Concept, Direction, StorageClient
from sutra.storage.ids import concept_id_for

STRONG_EDGE = 0.6
HOP_DECAY = 0.99
LONE_PATH_PENALTY = 0.9
SAME_ANSWER_JACCARD = 0.8

Embed = Callable[..., np.ndarray]  # (texts, timeout=...) -> one unit row per text


def bounded_embed(embed: Embed, deadline: float | None) -> Embed:
    """`embed` that waits for its vectors until `deadline` at most (TimeoutError after)."""
    if deadline is None:
        return embed
    return lambda texts: embed(texts, timeout=max(0.0, deadline - time.monotonic()))


@dataclass(frozen=True)
class Limits:
    seeds: int = 10  # vector-search hits per search
    expand_best: int = 3  # seeds whose strong neighbours become candidates
    strong_per_seed: int = 8
    anchors: int = 4
    anchor_checks: int = 24  # question phrases looked up as entities
    visit_budget: int = 32  # nodes expanded by the path search
    neighbor_limit: int = 64  # edges read per expanded node
    parents_per_node: int = 3  # shortest ways into a node that are kept
    reached_targets: int = 12  # nodes met by the search that are scored as answers
    alternatives: int = 3
    support: int = 5
    read_threads: int = 16


@dataclass(frozen=True)
class Step:
    """One edge of a path, as stored (source -> target), walked from `node` to `other`."""

    source: str
    target: str
    type: AssociationType
    confidence: float


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


def _r(value: float) -> float:
    return round(float(value), 6)


def _quote(content: str) -> str:
    return content if is_entity(content) else f'"{content}"'


def describe(step: Step, content: Callable[[str], str]) -> str:
    """A stored edge in words: "heart is part of circulatory system"."""
    a, b = content(step.source), content(step.target)
    if step.type == AssociationType.CAUSAL:
        return f"{_quote(a)} causes {_quote(b)}"
    if step.type == AssociationType.HIERARCHICAL:
        return f"{_quote(a)} is a kind of {_quote(b)}"
    if step.type == AssociationType.COMPOSITIONAL:  # stored container -> part
        return f"{_quote(b)} is part of {_quote(a)}"
    if step.type == AssociationType.TEMPORAL:
        return f"{_quote(a)} comes before {_quote(b)}"
    if not is_entity(a) and is_entity(b):
        return f"{_quote(a)} is about {b}"
    return f"{_quote(a)} is related to {_quote(b)}"


class Reasoner:
    def __init__(self, storage: StorageClient, embed: Embed, limits: Limits | None = None):
        self.storage = storage
        self.embed = embed
        self.limits = limits or Limits()
        # Fan-out reads of one query; separate from the request threads that wait on them.
        # ContextPool: reads made on its threads stay in the request's trace.
        self.pool = ContextPool(self.limits.read_threads, thread_name_prefix="read")

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    # ---------------------------------------------------------------- search

    def search(
        self, query: str, top_k: int, threshold: float, deadline: float | None = None
    ) -> list[dict[str, object]]:
        storage = self.storage.bounded(deadline)
        vector = bounded_embed(self.embed, deadline)([query])[0]
        hits = sorted(
            (h for h in similar_concepts(storage, vector, top_k) if h.similarity >= threshold),
            key=lambda h: (-h.similarity, h.concept_id),
        )
        concepts = read_concepts(storage, self.pool, [h.concept_id for h in hits])
        return [
            {"concept_id": h.concept_id, "content": c.content, "similarity": _r(h.similarity)}
            for h, c in zip(hits, concepts, strict=True)
            if c is not None
        ]

    # ----------------------------------------------------------------- query

    def query(
        self,
        query: str,
        *,
        semantic_boost: float = 0.5,
        max_depth: int = 3,
        max_paths: int = 5,
        threshold: float = 0.0,
        deadline: float | None = None,
    ) -> dict[str, object]:
        return _Query(self, query, semantic_boost, max_depth, max_paths, threshold, deadline).run()


class _Query:
    """The state of one query: concepts read so far, the search, the scoring.

    Independent storage reads go out together, so a query costs a handful of round trips
    rather than one per concept: the concepts of each step (the phrases of the question,
    the seeds, the answers to score, the concepts of the paths) are one GetConcepts call,
    and the neighbour reads of one BFS level go out concurrently through the read pool.
    """

    def __init__(
        self,
        reasoner: Reasoner,
        query: str,
        boost: float,
        max_depth: int,
        max_paths: int,
        threshold: float,
        deadline: float | None = None,
    ) -> None:
        self.storage = reasoner.storage.bounded(deadline)
        self.embed = bounded_embed(reasoner.embed, deadline)
        self.limits = reasoner.limits
        self.pool = reasoner.pool
        self.query = query
        self.boost = boost
        self.max_depth = max_depth
        self.max_paths = max_paths
        self.threshold = threshold
        self.concepts: dict[str, Concept | None] = {}
        self.expanded: set[str] = set()

    def fetch(self, ids: Sequence[str]) -> None:
        """Read every concept of `ids` not read yet, with their vectors, in one round trip."""
        missing = list(dict.fromkeys(i for i in ids if i not in self.concepts))
        if missing:
            found = read_concepts(self.storage, self.pool, missing, embedding=True)
            self.concepts.update(zip(missing, found, strict=True))

    def concept(self, concept_id: str) -> Concept | None:
        self.fetch([concept_id])
        return self.concepts[concept_id]

    def content(self, concept_id: str) -> str:
        concept = self.concept(concept_id)
        return concept.content if concept is not None else concept_id

    # 1. anchors and what the question asks
    def anchors(self) -> list[str]:
        phrases = mention_candidates(self.query, limit=self.limits.anchor_checks)
        ids = {phrase: concept_id_for(phrase) for phrase in phrases}
        self.fetch(list(ids.values()))
        found: list[str] = []
        used: set[str] = set()
        for phrase in phrases:  # longest first
            words = set(phrase.split())
            if words & used or self.concepts.get(ids[phrase]) is None:
                continue  # unknown, or a longer phrase already covers these words
            found.append(ids[phrase])
            used |= words
            if len(found) >= self.limits.anchors:
                break
        return found

    def asked(self, anchors: list[str]) -> str:
        named = {w for a in anchors for w in self.content(a).split()}
        rest = [w for w in tokens(self.query) if w not in named]
        return " ".join(rest) if any(w not in STOP_WORDS for w in rest) else ""

    # 3. the path search
    def _steps(self, node: str) -> list[tuple[str, Step]]:
        """(other, best edge joining them) for each neighbour, best first, ties by id."""
        best: dict[str, Step] = {}
        for n in self.storage.get_neighbors(node, limit=self.limits.neighbor_limit):
            if n.direction == Direction.INCOMING:
                step = Step(n.concept_id, node, n.type, n.confidence)
            else:
                step = Step(node, n.concept_id, n.type, n.confidence)
            current = best.get(n.concept_id)
            if current is None or (step.confidence, -step.type) > (
                current.confidence,
                -current.type,
            ):
                best[n.concept_id] = step
        return sorted(best.items(), key=lambda item: (-item[1].confidence, item[0]))

    def neighbors(self, nodes: Sequence[str]) -> list[list[tuple[str, Step]]]:
        self.expanded.update(nodes)
        if len(nodes) == 1:
            return [self._steps(nodes[0])]
        return list(self.pool.map(self._steps, nodes))

    def bfs(self, sources: list[str]) -> tuple[dict[str, int], dict[str, list[tuple[str, Step]]]]:
        """Level by level from the sources, in both edge directions.

        A node entered through a semantic edge that starts at it (statement -> entity: "is
        about") is a statement: a leaf that may answer, not a bridge to expand, so the
        budget goes to entities, which is where facts meet.
        """
        depth = {s: 0 for s in sources}
        parents: dict[str, list[tuple[str, Step]]] = {s: [] for s in sources}
        frontier = sorted(set(sources))
        budget = self.limits.visit_budget
        for level in range(1, self.max_depth + 1):
            frontier = frontier[: max(budget, 0)]
            if not frontier:
                break
            budget -= len(frontier)
            following: list[str] = []
            for node, steps in zip(frontier, self.neighbors(frontier), strict=True):
                for other, step in steps:
                    if other not in depth:
                        depth[other] = level
                        parents[other] = [(node, step)]
                        leaf = step.type == AssociationType.SEMANTIC and step.source == other
                        if not leaf:
                            following.append(other)
                    elif depth[other] == level:
                        ways = parents[other]
                        if len(ways) < self.limits.parents_per_node and all(
                            p != node for p, _ in ways
                        ):
                            ways.append((node, step))
            frontier = sorted(set(following))
        return depth, parents

    def paths_to(
        self, target: str, parents: dict[str, list[tuple[str, Step]]], limit: int
    ) -> list[FoundPath]:
        """Shortest paths from any source into `target`, at most `limit`."""
        done: list[FoundPath] = []

        def walk(node: str, ids: list[str], steps: list[Step]) -> None:
            if len(done) >= limit:
                return
            if not parents.get(node):
                path = FoundPath(ids=[node, *ids], steps=steps)
                path.confidence = path_confidence([s.confidence for s in steps])
                done.append(path)
                return
            for parent, step in parents[node]:
                walk(parent, [node, *ids], [step, *steps])

        walk(target, [], [])
        return [p for p in done if p.steps]

    # 5. scoring
    def relevance(self, concept_id: str, asked: np.ndarray) -> float:
        concept = self.concept(concept_id)
        if concept is None or concept.embedding is None:
            return 0.0
        return max(0.0, float(np.dot(asked, concept.embedding)))

    def group(self, paths: list[FoundPath]) -> list[Group]:
        groups: dict[str, Group] = {}
        for path in paths:
            groups.setdefault(path.ids[-1], Group(path.ids[-1])).paths.append(path)
        # Answers that overlap (near-identical statements) are one answer.
        merged: list[Group] = []
        for group in sorted(groups.values(), key=lambda g: (-len(g.paths), g.answer_id)):
            words = set(tokens(self.content(group.answer_id)))
            for other in merged:
                theirs = set(tokens(self.content(other.answer_id)))
                union = words | theirs
                if union and len(words & theirs) / len(union) >= SAME_ANSWER_JACCARD:
                    other.paths.extend(group.paths)
                    break
            else:
                merged.append(group)
        return merged

    def score(self, groups: list[Group], total: int, asked: np.ndarray) -> None:
        for group in groups:
            mean = sum(p.confidence for p in group.paths) / len(group.paths)
            share = len(group.paths) / total
            group.graph = mean * (0.5 + 0.5 * share)
            if len(group.paths) == 1:
                group.graph *= LONE_PATH_PENALTY
            group.semantic = self.relevance(group.answer_id, asked)
            group.final = combine(group.graph, group.semantic, self.boost)

    def path_json(self, path: FoundPath) -> dict[str, object]:
        return {
            "path": [self.content(i) for i in path.ids],
            "concept_ids": path.ids,
            "edges": [
                {"type": s.type.name.lower(), "confidence": _r(s.confidence)} for s in path.steps
            ],
            "confidence": _r(path.confidence),
            "explanation": "; ".join(describe(s, self.content) for s in path.steps),
        }

    # the whole query
    def run(self) -> dict[str, object]:
        limits = self.limits
        anchors = self.anchors()
        asked_text = self.asked(anchors)
        vectors = self.embed([self.query, asked_text] if asked_text else [self.query])
        question, asked = vectors[0], vectors[-1]

        # 2. seeds (similarity x min(strength / 5, 1) x confidence) and candidates
        hits = similar_concepts(self.storage, question, limits.seeds)
        similarity = {h.concept_id: h.similarity for h in hits}
        nearest = sorted(similarity, key=lambda c: (-similarity[c], c))[: limits.support]
        self.fetch(nearest)
        seeds: list[tuple[float, str]] = []
        for concept_id in nearest:
            concept = self.concepts[concept_id]
            if concept is not None:
                weight = min(concept.strength / 5.0, 1.0) * concept.confidence
                seeds.append((similarity[concept_id] * weight, concept_id))
        seeds.sort(key=lambda s: (-s[0], s[1]))
        best = [c for _, c in seeds[: limits.expand_best]]
        candidates = set(similarity)
        if not anchors:  # with anchors, the path search below starts from them instead
            for steps in self.neighbors(best):
                strong = [other for other, step in steps if step.confidence >= STRONG_EDGE]
                candidates.update(strong[: limits.strong_per_seed])

        # 3. paths from the anchors (or the best seeds) to the statements they reach
        sources = anchors or best
        depth, parents = self.bfs(sources)
        reached = sorted((d, n not in candidates, n) for n, d in depth.items() if d > 0)
        targets = [n for _, _, n in reached][: limits.reached_targets]
        self.fetch(targets)
        paths: list[FoundPath] = []
        for target in sorted(targets):
            concept = self.concepts[target]
            if concept is None or is_entity(concept.content) or target in sources:
                continue
            paths += self.paths_to(target, parents, self.max_paths)
        self.fetch([i for p in paths for i in p.ids])

        support = [
            {"concept_id": c, "content": self.content(c), "similarity": _r(similarity[c])}
            for c in nearest
            if self.concepts.get(c) is not None
        ]

        groups = self.group(paths)
        self.score(groups, len(paths), asked)
        groups = [g for g in groups if g.final > 0 and g.final >= self.threshold]
        groups.sort(key=lambda g: (-g.final, g.answer_id))
        for g in groups:
            g.paths.sort(key=lambda p: (-p.confidence, p.ids))

        result: dict[str, object] = {"query": self.query, "semantic_support": support}
        # A learned statement that says what was asked outright beats a path that only
        # connects related things: reasoning answers must out-score the direct match.
        direct = self.direct_match(similarity)
        if groups and groups[0].final < float(direct["confidence"]):  # type: ignore[arg-type]
            semantic = direct["confidence_breakdown"]["semantic"]  # type: ignore[index]
            direct["explanation"] = (
                "The closest learned statement answers the question directly (similarity "
                f"{semantic:.2f}); it scores above every reasoning path found."
            )
            direct["alternatives"] = [
                {"answer": self.content(g.answer_id), "confidence": _r(g.final)}
                for g in groups[: limits.alternatives]
            ]
            groups = []
        if groups:
            top = groups[0]
            shown = [*top.paths, *(g.paths[0] for g in groups[1:])][: self.max_paths]
            explanation = (
                f"{self.path_json(top.paths[0])['explanation']}. "
                f"{len(top.paths)} of {len(paths)} reasoning paths lead to this answer "
                f"(graph {top.graph:.2f}, semantic {top.semantic:.2f})."
            )
            result.update(
                answer=self.content(top.answer_id),
                confidence=_r(top.final),
                confidence_breakdown={
                    "graph": _r(top.graph),
                    "semantic": _r(top.semantic),
                    "final": _r(top.final),
                },
                reasoning_paths=[self.path_json(p) for p in shown],
                alternatives=[
                    {"answer": self.content(g.answer_id), "confidence": _r(g.final)}
                    for g in groups[1 : 1 + limits.alternatives]
                ],
                explanation=explanation,
            )
        else:
            result.update(direct)
        result["concepts_accessed"] = len(self.concepts.keys() | self.expanded)
        return result

    def direct_match(self, similarity: dict[str, float]) -> dict[str, object]:
        """No path: the closest learned statement, its similarity weighted by the boost."""
        ranked = sorted(similarity.items(), key=lambda item: (-item[1], item[0]))
        for concept_id, sim in ranked:
            concept = self.concept(concept_id)
            if concept is None or sim <= 0 or (is_entity(concept.content) and len(ranked) > 1):
                continue
            final = self.boost * sim
            if final < self.threshold:
                break
            return {
                "answer": concept.content,
                "confidence": _r(final),
                "confidence_breakdown": {"graph": 0.0, "semantic": _r(sim), "final": _r(final)},
                "reasoning_paths": [],
                "alternatives": [],
                "explanation": (
                    "No reasoning path connects the question to what was learned; this is "
                    f"the closest learned statement, a direct semantic match (similarity "
                    f"{sim:.2f})."
                ),
            }
        return {
            "answer": "",
            "confidence": 0.0,
            "confidence_breakdown": {"graph": 0.0, "semantic": 0.0, "final": 0.0},
            "reasoning_paths": [],
            "alternatives": [],
            "explanation": "Nothing learned matches the question"
            + (f" with confidence >= {self.threshold}." if self.threshold > 0 else "."),
        }
