"""Learning: a text becomes a statement concept, its entities, and typed associations.

For each text:
- the text itself is a statement concept (id from its content, `sutra.storage.ids`);
- every relation that `extraction` reads from it adds its two entities as concepts, the
  typed edge between them, and a semantic edge statement -> entity ("states", 0.9);
- entities that were learned before (or in the same batch) and that the text names are
  linked statement -> entity too ("mentions", 0.7), so "The circulatory system transports
  oxygen." joins the graph at "circulatory system" even though no pattern matched it;
- an entity new to the store is linked from a few earlier statements that name it
  (found by vector search), so facts can be learned in any order.
All of one request (one text or a batch) is written with ONE LearnBatch: one transaction,
one commit. Re-learning strengthens every concept involved (the store multiplies the
strength by 1.02) and keeps the larger confidence of every edge.

`concepts_created` counts concepts that did not exist before the request;
`associations_created` counts the associations the request wrote (new or reinforced).
A request's `source` and `metadata` are accepted and validated but not stored: the
storage schema has no field for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from sutra.hybrid.extraction import (
    extract,
    is_entity,
    mention_candidates,
    mentions,
    normalise_entity,
)
from sutra.hybrid.store import read_concepts, similar_concepts
from sutra.storage.client import AssociationInput, AssociationType, ConceptInput, StorageClient
from sutra.storage.ids import concept_id_for

STATES_CONFIDENCE = 0.9
MENTION_CONFIDENCE = 0.7
MENTION_CHECKS_PER_TEXT = 32
BACKLINK_ENTITIES = 16  # new entities per request that look for earlier statements
BACKLINK_CANDIDATES = 8


@dataclass(frozen=True)
class LearnItem:
    text: str
    source: str | None = None
    metadata: dict | None = None


@dataclass(frozen=True)
class LearnedAssociation:
    source_id: str
    target_id: str
    type: AssociationType
    confidence: float

    def as_dict(self) -> dict[str, object]:
        return {
            "source_id": self.source_id,
            "target_id": self.target_id,
            "type": self.type.name.lower(),
            "confidence": round(self.confidence, 6),
        }


@dataclass
class LearnResult:
    concept_id: str
    concept_ids: list[str] = field(default_factory=list)
    associations: list[LearnedAssociation] = field(default_factory=list)
    concepts_created: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "concept_id": self.concept_id,
            "concepts_created": self.concepts_created,
            "associations_created": len(self.associations),
            "concept_ids": self.concept_ids,
            "associations": [a.as_dict() for a in self.associations],
        }


Embed = Callable[[Sequence[str]], np.ndarray]


class Learner:
    def __init__(self, storage: StorageClient, embed: Embed, pool: Executor) -> None:
        self.storage = storage
        self.embed = embed
        self.pool = pool  # for independent reads that go out together

    def _check(self, ids: Sequence[str], known: dict[str, bool]) -> None:
        """Record in `known` whether each id of `ids` is stored (one GetConcepts call)."""
        missing = list(dict.fromkeys(i for i in ids if i not in known))
        for concept_id, concept in zip(
            missing, read_concepts(self.storage, self.pool, missing), strict=True
        ):
            known[concept_id] = concept is not None

    def learn(self, items: Sequence[LearnItem]) -> list[LearnResult]:
        """Learn every item in one LearnBatch; results in the order of `items`."""
        contents: dict[str, str] = {}  # id -> content, in first-seen order
        edges: dict[tuple[str, str, AssociationType], float] = {}
        results: list[LearnResult] = []
        item_edges: list[list[tuple[str, str, AssociationType]]] = []

        def add_concept(content: str, result: LearnResult) -> str:
            concept_id = concept_id_for(content)
            contents.setdefault(concept_id, content)
            if concept_id not in result.concept_ids:
                result.concept_ids.append(concept_id)
            return concept_id

        def add_edge(
            source: str, target: str, kind: AssociationType, confidence: float, mine: list
        ) -> None:
            if source == target:
                return
            key = (source, target, kind)
            edges[key] = max(confidence, edges.get(key, 0.0))
            if key not in mine:
                mine.append(key)

        # 1. Statements, extracted entities and their typed edges.
        entity_names: dict[str, str] = {}  # entity id -> normalised name
        for item in items:
            text = item.text.strip()
            result = LearnResult(concept_id=concept_id_for(text))
            mine: list[tuple[str, str, AssociationType]] = []
            statement = add_concept(text, result)
            for relation in extract(text):
                source = add_concept(relation.source, result)
                target = add_concept(relation.target, result)
                entity_names[source], entity_names[target] = relation.source, relation.target
                add_edge(source, target, relation.type, relation.confidence, mine)
                add_edge(statement, source, AssociationType.SEMANTIC, STATES_CONFIDENCE, mine)
                add_edge(statement, target, AssociationType.SEMANTIC, STATES_CONFIDENCE, mine)
            results.append(result)
            item_edges.append(mine)

        # 2. Which concepts exist already (for concepts_created), and which phrases of each
        # text name a stored entity, in one round of concurrent reads.
        phrases = [
            [
                p
                for p in mention_candidates(item.text, limit=MENTION_CHECKS_PER_TEXT)
                if is_entity(p)
            ]
            for item in items
        ]
        known: dict[str, bool] = {}
        self._check([*contents, *(concept_id_for(p) for ps in phrases for p in ps)], known)

        # 3. Mentions: entities named by a text, known before or learned in this batch.
        for item_phrases, result, mine in zip(phrases, results, item_edges, strict=True):
            statement = result.concept_id
            for phrase in item_phrases:
                entity = concept_id_for(phrase)
                if entity != statement and (entity in entity_names or known[entity]):
                    add_edge(statement, entity, AssociationType.SEMANTIC, MENTION_CONFIDENCE, mine)

        vectors = self.embed(list(contents.values()))
        by_id = dict(zip(contents, vectors, strict=True))

        # 4. Back-links: earlier statements that name an entity new to the store.
        # The searches go out concurrently, then one GetConcepts reads every candidate.
        new_entities = [e for e in entity_names if not known.get(e, False)][:BACKLINK_ENTITIES]
        search = partial(similar_concepts, self.storage, k=BACKLINK_CANDIDATES)
        found = list(self.pool.map(search, [by_id[e] for e in new_entities]))
        candidates = list(
            dict.fromkeys(
                hit.concept_id
                for hits in found
                for hit in hits
                if hit.concept_id not in contents and hit.similarity > 0
            )
        )
        stored = dict(
            zip(candidates, read_concepts(self.storage, self.pool, candidates), strict=True)
        )
        backlinks: list[tuple[str, str, AssociationType]] = []
        for entity, hits in zip(new_entities, found, strict=True):
            name = entity_names[entity]
            for hit in hits:
                if hit.concept_id in contents or hit.similarity <= 0:
                    continue
                concept = stored[hit.concept_id]
                if concept is None or is_entity(concept.content):
                    continue
                if mentions(concept.content, name):
                    key = (hit.concept_id, entity, AssociationType.SEMANTIC)
                    edges[key] = max(MENTION_CONFIDENCE, edges.get(key, 0.0))
                    backlinks.append(key)

        # 5. One transaction for everything.
        self.storage.learn_batch(
            [
                ConceptInput(content, concept_id=concept_id, embedding=by_id[concept_id])
                for concept_id, content in contents.items()
            ],
            [
                AssociationInput(source, target, kind, confidence)
                for (source, target, kind), confidence in edges.items()
            ],
        )

        claimed: set[str] = set()
        for result, mine in zip(results, item_edges, strict=True):
            for concept_id in result.concept_ids:
                if not known[concept_id] and concept_id not in claimed:
                    claimed.add(concept_id)
                    result.concepts_created += 1
            result.associations = [
                LearnedAssociation(source, target, kind, edges[(source, target, kind)])
                for source, target, kind in mine
            ]
        if backlinks and results:  # reported with the request's first text
            results[0].associations.extend(
                LearnedAssociation(s, t, k, edges[(s, t, k)]) for s, t, k in backlinks
            )
        return results


def entity_id(name: str) -> str:
    """The concept id of an entity, from any spelling of it ("The Heart" -> id of "heart")."""
    return concept_id_for(normalise_entity(name))
