"""Reasoning over the knowledge graph: questions answered by their relations, other
queries by the statement search.

query(text):
1. The phrases of the text that name stored entities are read (one GetConcepts); the
   text is embedded and vector-searched (its semantic support).
2. A question these rules read (`questions`: wh-questions, yes/no questions) is answered
   over the labelled relations between entities (`answers`): the entity it names, the
   relation it asks about, up to three hops, the entity at the end of the best path.
   - Nothing supports an answer, but the closest learned statement names the entity and
     the relation asked about and is a strong direct match: that statement answers, its
     similarity its confidence.
   - Otherwise the answer is "unknown" (status "unknown"): a question about something
     never taught gets no made-up answer.
3. Any other text goes to the statement search (`statements`), as before.
A found answer under the caller's `threshold` is withheld (answer "", status
"below_threshold"). Every ordering breaks ties by concept id, so the same data gives the
same answer.

With a deadline (a `time.monotonic()` time), storage calls and waits for embeddings end
by it: the first step that finds no time left raises, so the query stops there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from sutra.common.tracing import ContextPool
from sutra.hybrid.answers import Answerer
from sutra.hybrid.chunker import singular
from sutra.hybrid.extraction import is_entity, mention_candidates, mentions
from sutra.hybrid.lexicon import lemma
from sutra.hybrid.matching import content_of
from sutra.hybrid.paths import combine, path_confidence, rounded
from sutra.hybrid.questions import YES_NO, Question, parse_question
from sutra.hybrid.relations import relation_key
from sutra.hybrid.statements import StatementSearch, empty_answer, statement_answer
from sutra.hybrid.store import read_concepts, similar_concepts
from sutra.hybrid.text import stem, tokens
from sutra.storage.client import Concept, StorageClient
from sutra.storage.ids import concept_id_for

__all__ = ["Limits", "Reasoner", "bounded_embed", "combine", "path_confidence"]

DIRECT_MATCH = 0.55  # lowest similarity of a statement that answers a question on its own
T = TypeVar("T")
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
            {"concept_id": h.concept_id, "content": c.content, "similarity": rounded(h.similarity)}
            for h, c in zip(hits, concepts, strict=True)
            if c is not None
        ]

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


class _Query(StatementSearch):
    """The state of one query: concepts read so far, the question, the answer.

    Independent storage reads go out together, so a query costs a handful of round trips
    rather than one per concept: the concepts of each step are one GetConcepts call, and
    the neighbour reads of one search level go out concurrently through the read pool.
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

    # ------------------------------------------------------------------ reads

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

    def read_all(self, fn: Callable[[str], T], items: Sequence[str]) -> list[T]:
        """`fn` over `items`, concurrently when there are several (neighbour reads)."""
        self.expanded.update(items)
        if len(items) <= 1:
            return [fn(i) for i in items]
        return list(self.pool.map(fn, items))

    def known(self, name: str) -> bool:
        """Is `name` a stored entity among the phrases read for this query?"""
        concept = self.concepts.get(concept_id_for(name))
        return concept is not None and is_entity(concept.content)

    # ------------------------------------------------------------------- steps

    def run(self) -> dict[str, object]:
        phrases = mention_candidates(self.query, limit=2 * self.limits.anchor_checks)
        self.fetch([concept_id_for(p) for p in phrases])
        question = parse_question(self.query, self.known)
        anchors = [] if question is not None else self.anchors()
        asked_text = "" if question is not None else self.asked(anchors)
        vectors = self.embed([self.query, asked_text] if asked_text else [self.query])
        hits = similar_concepts(self.storage, vectors[0], self.limits.seeds)
        similarity = {h.concept_id: h.similarity for h in hits}
        if question is not None:
            result = self.answer(question, similarity)
        else:
            result = self.search_statements(anchors, similarity, vectors[-1])
            result.setdefault("answer_type", "statement" if result["answer"] else "none")
        result = self.thresholded(result)
        support = self.support(similarity)
        result["concepts_accessed"] = len(self.concepts.keys() | self.expanded)
        return {"query": self.query, "semantic_support": support, **result}

    def support(self, similarity: dict[str, float]) -> list[dict[str, object]]:
        nearest = sorted(similarity, key=lambda c: (-similarity[c], c))[: self.limits.support]
        self.fetch(nearest)
        return [
            {"concept_id": c, "content": self.content(c), "similarity": rounded(similarity[c])}
            for c in nearest
            if self.concepts.get(c) is not None
        ]

    def thresholded(self, result: dict[str, object]) -> dict[str, object]:
        """The status of an answer; one under the caller's threshold is withheld."""
        confidence = float(result["confidence"])  # type: ignore[arg-type]
        if result["answer"] in ("", "unknown"):
            return {**result, "status": "unknown"}
        if confidence > 0 and confidence >= self.threshold:
            return {**result, "status": "answered"}
        return {
            **empty_answer(
                f"The best answer found ({result['answer']}, confidence {confidence:.2f}) is "
                f"under the requested threshold {self.threshold}."
            ),
            "status": "below_threshold",
        }

    # -------------------------------------------------------------- questions

    def answer(self, question: Question, similarity: dict[str, float]) -> dict[str, object]:
        """A question answered over relations, else by a strong direct match, else
        "unknown"."""
        anchor = self.resolve(question.subject)
        other = self.resolve(question.object) if question.kind == YES_NO else None
        if anchor is None or (question.kind == YES_NO and other is None):
            missing = question.subject if anchor is None else question.object
            return _unknown(f'Nothing learned names "{missing}".')
        answerer = Answerer(
            self,
            question,
            boost=self.boost,
            max_depth=self.max_depth,
            limit=self.limits.neighbor_limit,
        )
        found = answerer.answer(anchor, other)
        if found is not None:
            found["reasoning_paths"] = found["reasoning_paths"][: self.max_paths]  # type: ignore[index]
            return found
        if question.kind != YES_NO and not question.focus:  # a sentence is no yes, no kind
            direct = self.direct_statement(question, similarity)
            if direct is not None:
                return direct
        return _unknown(
            f'Nothing learned about "{question.subject}" says what it {question.label}.'
        )

    def resolve(self, name: str) -> str | None:
        """The stored entity a question's name means: the name itself, its singular, or
        else the closest stored entity whose name contains it ("shakespeare" ->
        "william shakespeare")."""
        if not name:
            return None
        words = name.split()
        variants = list(dict.fromkeys([name, " ".join([*words[:-1], singular(words[-1])])]))
        self.fetch([concept_id_for(v) for v in variants])
        for variant in variants:
            if self.known(variant):
                return concept_id_for(variant)
        hits = similar_concepts(self.storage, self.embed([name])[0], self.limits.seeds)
        ranked = sorted(hits, key=lambda h: (-h.similarity, h.concept_id))
        self.fetch([h.concept_id for h in ranked])
        for hit in ranked:
            concept = self.concepts.get(hit.concept_id)
            if (
                concept is not None
                and is_entity(concept.content)
                and any(mentions(concept.content, v) for v in variants)
            ):
                return hit.concept_id
        return None

    def direct_statement(
        self, question: Question, similarity: dict[str, float]
    ) -> dict[str, object] | None:
        """The closest learned statement, when it is a strong match that names the
        question's entity and its relation: it answers on its own, confidence = its
        similarity."""
        verbs = {stem(lemma(w)) for w in content_of(relation_key(question.label))}
        for concept_id in sorted(similarity, key=lambda c: (-similarity[c], c)):
            sim = similarity[concept_id]
            concept = self.concept(concept_id)
            if concept is None or is_entity(concept.content):
                continue
            if sim < DIRECT_MATCH or self.boost <= 0:
                return None
            said = {stem(lemma(w)) for w in tokens(concept.content)}
            if not mentions(concept.content, question.subject) or (verbs and not verbs & said):
                return None
            return statement_answer(
                concept.content,
                sim,
                sim,
                "No relation learned answers the question; this learned statement names "
                f"what it asks about and matches it directly (similarity {sim:.2f}).",
            )
        return None


def _unknown(reason: str) -> dict[str, object]:
    return {**empty_answer(f"Unknown: {reason}"), "answer": "unknown"}
