"""Statement search: reasoning paths from the entities a text names to learned statements.

What a query that is not a question these rules read (a phrase, a keyword search) gets,
as the original designed it:

1. Concepts the text names outright (an entity whose normalised name is a phrase of it)
   are its anchors; the rest of the text is what it asks. Both are embedded.
2. Vector-search seeds; each seed scores similarity x min(strength / 5, 1) x confidence.
   Without anchors, strong neighbours (edge confidence >= 0.6) of the best few seeds
   join the candidates and those seeds are where paths start.
3. Breadth-first search from the anchors (or the best seeds) over the graph in both edge
   directions, bounded by `max_depth` and a visit budget, keeping every shortest way into
   a node. Statements are leaves (answers), entities are bridges.
4. Path confidence = harmonic mean of its edge confidences x 0.99 per hop.
5. Paths are grouped by their answer (near-identical statements are one answer); a
   group's graph score is its mean path confidence x its share of the paths (a lone path
   is penalised), its semantic score how close the answer is to what is asked; the final
   confidence is graph^(1 - b) x semantic^b with `semantic_boost` b.
6. The best group answers unless the closest statement, a direct semantic match, scores
   higher: then that statement answers, with its similarity as confidence.
Every ordering breaks ties by concept id, so the same data gives the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING

import numpy as np

from sutra.hybrid.extraction import is_entity, mention_candidates
from sutra.hybrid.paths import FoundPath, Group, Step, combine, path_confidence, path_json, rounded
from sutra.hybrid.text import STOP_WORDS, tokens
from sutra.storage.client import AssociationType, Concept, Direction, StorageClient
from sutra.storage.ids import concept_id_for

if TYPE_CHECKING:
    from sutra.hybrid.reasoning import Limits

STRONG_EDGE = 0.6
LONE_PATH_PENALTY = 0.9
SAME_ANSWER_JACCARD = 0.8


class StatementSearch:
    """The statement search of one query (mixed into `reasoning._Query`)."""

    storage: StorageClient
    query: str
    boost: float
    max_depth: int
    max_paths: int
    threshold: float
    concepts: dict[str, Concept | None]
    expanded: set[str]
    limits: Limits
    pool: Executor

    def fetch(self, ids: Sequence[str]) -> None:
        raise NotImplementedError

    def concept(self, concept_id: str) -> Concept | None:
        raise NotImplementedError

    def content(self, concept_id: str) -> str:
        raise NotImplementedError

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
                step = Step(n.concept_id, node, n.type, n.confidence, n.label)
            else:
                step = Step(node, n.concept_id, n.type, n.confidence, n.label)
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

    # the whole search
    def search_statements(
        self, anchors: list[str], similarity: dict[str, float], asked: np.ndarray
    ) -> dict:
        """The answer of the statement search, given the query's anchors, its seeds and
        the vector of what it asks."""
        best = self.best_seeds(similarity)
        candidates = set(similarity)
        if not anchors:  # with anchors, the path search starts from them instead
            for steps in self.neighbors(best):
                strong = [other for other, step in steps if step.confidence >= STRONG_EDGE]
                candidates.update(strong[: self.limits.strong_per_seed])
        sources = anchors or best
        paths = self.statement_paths(sources, candidates)
        groups = self.group(paths)
        self.score(groups, len(paths), asked)
        groups = [g for g in groups if g.final > 0 and g.final >= self.threshold]
        groups.sort(key=lambda g: (-g.final, g.answer_id))
        for g in groups:
            g.paths.sort(key=lambda p: (-p.confidence, p.ids))
        direct = self.direct_match(similarity)
        if groups and groups[0].final < float(direct["confidence"]):  # type: ignore[arg-type]
            return self.direct_over(direct, groups)
        if not groups:
            return direct
        return self.group_answer(groups, len(paths))

    def best_seeds(self, similarity: dict[str, float]) -> list[str]:
        """Seeds by similarity x min(strength / 5, 1) x confidence; the best few."""
        nearest = sorted(similarity, key=lambda c: (-similarity[c], c))[: self.limits.support]
        self.fetch(nearest)
        seeds: list[tuple[float, str]] = []
        for concept_id in nearest:
            concept = self.concepts[concept_id]
            if concept is not None:
                weight = min(concept.strength / 5.0, 1.0) * concept.confidence
                seeds.append((similarity[concept_id] * weight, concept_id))
        seeds.sort(key=lambda s: (-s[0], s[1]))
        return [c for _, c in seeds[: self.limits.expand_best]]

    def statement_paths(self, sources: list[str], candidates: set[str]) -> list[FoundPath]:
        """Paths from the sources to the statements the search reaches, candidates first."""
        depth, parents = self.bfs(sources)
        reached = sorted((d, n not in candidates, n) for n, d in depth.items() if d > 0)
        targets = [n for _, _, n in reached][: self.limits.reached_targets]
        self.fetch(targets)
        paths: list[FoundPath] = []
        for target in sorted(targets):
            concept = self.concepts[target]
            if concept is None or is_entity(concept.content) or target in sources:
                continue
            paths += self.paths_to(target, parents, self.max_paths)
        self.fetch([i for p in paths for i in p.ids])
        return paths

    def direct_over(self, direct: dict, groups: list[Group]) -> dict:
        """A learned statement that says what was asked outright beats a path that only
        connects related things."""
        semantic = direct["confidence_breakdown"]["semantic"]
        direct["explanation"] = (
            "The closest learned statement answers the question directly (similarity "
            f"{semantic:.2f}); it scores above every reasoning path found."
        )
        direct["alternatives"] = [
            {"answer": self.content(g.answer_id), "confidence": rounded(g.final)}
            for g in groups[: self.limits.alternatives]
        ]
        return direct

    def group_answer(self, groups: list[Group], total: int) -> dict:
        top = groups[0]
        shown = [*top.paths, *(g.paths[0] for g in groups[1:])][: self.max_paths]
        first = path_json(top.paths[0], self.content)
        explanation = (
            f"{first['explanation']}. {len(top.paths)} of {total} reasoning paths lead to "
            f"this answer (graph {top.graph:.2f}, semantic {top.semantic:.2f})."
        )
        return {
            "answer": self.content(top.answer_id),
            "confidence": rounded(top.final),
            "confidence_breakdown": {
                "graph": rounded(top.graph),
                "semantic": rounded(top.semantic),
                "final": rounded(top.final),
            },
            "reasoning_paths": [path_json(p, self.content) for p in shown],
            "alternatives": [
                {"answer": self.content(g.answer_id), "confidence": rounded(g.final)}
                for g in groups[1 : 1 + self.limits.alternatives]
            ],
            "explanation": explanation,
        }

    def direct_match(self, similarity: dict[str, float]) -> dict[str, object]:
        """No better path: the closest learned statement answers on its own. Its confidence
        is its similarity (not weighted down by the boost: a statement that says what was
        asked needs no path to be right); with `semantic_boost` 0 (graph only) it is 0."""
        ranked = sorted(similarity.items(), key=lambda item: (-item[1], item[0]))
        for concept_id, sim in ranked:
            concept = self.concept(concept_id)
            if concept is None or sim <= 0 or (is_entity(concept.content) and len(ranked) > 1):
                continue
            final = sim if self.boost > 0 else 0.0
            if final <= 0 or final < self.threshold:
                break
            return statement_answer(
                concept.content,
                sim,
                final,
                "No reasoning path connects the question to what was learned; this is "
                f"the closest learned statement, a direct semantic match (similarity {sim:.2f}).",
            )
        return empty_answer(
            "Nothing learned matches the question"
            + (f" with confidence >= {self.threshold}." if self.threshold > 0 else ".")
        )


def statement_answer(content: str, sim: float, final: float, explanation: str) -> dict[str, object]:
    """A learned statement as the answer, on its semantic match alone (no path)."""
    return {
        "answer": content,
        "confidence": rounded(final),
        "confidence_breakdown": {"graph": 0.0, "semantic": rounded(sim), "final": rounded(final)},
        "reasoning_paths": [],
        "alternatives": [],
        "explanation": explanation,
        "answer_type": "statement",
    }


def empty_answer(explanation: str) -> dict[str, object]:
    """No answer, and why."""
    return {
        "answer": "",
        "confidence": 0.0,
        "confidence_breakdown": {"graph": 0.0, "semantic": 0.0, "final": 0.0},
        "reasoning_paths": [],
        "alternatives": [],
        "explanation": explanation,
        "answer_type": "none",
    }
