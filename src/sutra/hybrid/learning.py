"""Learning: a text becomes a statement concept, its entities, and typed associations.

For each text:
- the text itself is a statement concept (id from its content, `sutra.storage.ids`);
- every relation that `extraction` reads from it adds its two entities as concepts, the
  typed edge between them labelled with the relation phrase ("grew up in"), and a
  semantic edge statement -> entity labelled "states" (0.9);
- entities that were learned before (or in the same batch) and that the text names are
  linked statement -> entity too (labelled "mentions", 0.7), so a text in which no
  relation is read ("Raw honey from wild bees.") still joins the graph at "honey";
- an entity new to the store is linked from a few earlier statements that name it
  (found by vector search), so facts can be learned in any order.
All of one request (one text or a batch) is written with ONE LearnBatch: one transaction,
one commit. Re-learning strengthens every concept involved (the store multiplies the
strength by 1.02), keeps the larger confidence of every edge and writes its label again.

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
STATES_LABEL = "states"  # statement -> an entity of a relation it states
MENTION_LABEL = "mentions"  # statement -> an entity it names
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


Key = tuple[str, str, AssociationType]


@dataclass
class _Batch:
    """What one request writes: concepts by id, edges with their best confidence and label."""

    contents: dict[str, str] = field(default_factory=dict)  # id -> content, first-seen order
    edges: dict[Key, tuple[float, str]] = field(default_factory=dict)
    entity_names: dict[str, str] = field(default_factory=dict)  # entity id -> its name
    results: list[LearnResult] = field(default_factory=list)
    item_edges: list[list[Key]] = field(default_factory=list)

    def concept(self, content: str, result: LearnResult) -> str:
        concept_id = concept_id_for(content)
        self.contents.setdefault(concept_id, content)
        if concept_id not in result.concept_ids:
            result.concept_ids.append(concept_id)
        return concept_id

    def edge(self, key: Key, confidence: float, label: str, mine: list[Key] | None) -> None:
        if key[0] == key[1]:
            return
        old_confidence, old_label = self.edges.get(key, (0.0, ""))
        self.edges[key] = (max(confidence, old_confidence), old_label or label)
        if mine is not None and key not in mine:
            mine.append(key)

    def learned(self, key: Key) -> LearnedAssociation:
        return LearnedAssociation(*key, self.edges[key][0])


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
        batch = _Batch()
        for item in items:
            self._statement(batch, item.text.strip())
        known = self._mentions(batch, items)
        vectors = self.embed(list(batch.contents.values()))
        by_id = dict(zip(batch.contents, vectors, strict=True))
        backlinks = self._backlinks(batch, known, by_id)
        self._write(batch, by_id)
        return self._report(batch, known, backlinks)

    def _statement(self, batch: _Batch, text: str) -> None:
        """1. The statement, the entities its relations name and their labelled edges."""
        result = LearnResult(concept_id=concept_id_for(text))
        mine: list[Key] = []
        statement = batch.concept(text, result)
        for relation in extract(text):
            source = batch.concept(relation.source, result)
            target = batch.concept(relation.target, result)
            batch.entity_names[source] = relation.source
            batch.entity_names[target] = relation.target
            batch.edge((source, target, relation.type), relation.confidence, relation.label, mine)
            for entity in (source, target):
                key = (statement, entity, AssociationType.SEMANTIC)
                batch.edge(key, STATES_CONFIDENCE, STATES_LABEL, mine)
        batch.results.append(result)
        batch.item_edges.append(mine)

    def _mentions(self, batch: _Batch, items: Sequence[LearnItem]) -> dict[str, bool]:
        """2-3. Which concepts exist already, and the entities (stored, or learned in this
        batch) that each text names: one round of concurrent reads."""
        phrases = [
            [
                p
                for p in mention_candidates(item.text, limit=MENTION_CHECKS_PER_TEXT)
                if is_entity(p)
            ]
            for item in items
        ]
        known: dict[str, bool] = {}
        self._check([*batch.contents, *(concept_id_for(p) for ps in phrases for p in ps)], known)
        for item_phrases, result, mine in zip(
            phrases, batch.results, batch.item_edges, strict=True
        ):
            statement = result.concept_id
            for phrase in item_phrases:
                entity = concept_id_for(phrase)
                if entity != statement and (entity in batch.entity_names or known[entity]):
                    key = (statement, entity, AssociationType.SEMANTIC)
                    batch.edge(key, MENTION_CONFIDENCE, MENTION_LABEL, mine)
        return known

    def _backlinks(
        self, batch: _Batch, known: dict[str, bool], by_id: dict[str, np.ndarray]
    ) -> list[Key]:
        """4. Earlier statements that name an entity new to the store: the searches go out
        concurrently, then one GetConcepts reads every candidate."""
        new_entities = [e for e in batch.entity_names if not known.get(e, False)]
        new_entities = new_entities[:BACKLINK_ENTITIES]
        search = partial(similar_concepts, self.storage, k=BACKLINK_CANDIDATES)
        found = list(self.pool.map(search, [by_id[e] for e in new_entities]))
        candidates = list(
            dict.fromkeys(
                hit.concept_id
                for hits in found
                for hit in hits
                if hit.concept_id not in batch.contents and hit.similarity > 0
            )
        )
        stored = dict(
            zip(candidates, read_concepts(self.storage, self.pool, candidates), strict=True)
        )
        backlinks: list[Key] = []
        for entity, hits in zip(new_entities, found, strict=True):
            name = batch.entity_names[entity]
            for hit in hits:
                if hit.concept_id in batch.contents or hit.similarity <= 0:
                    continue
                concept = stored[hit.concept_id]
                if concept is None or is_entity(concept.content):
                    continue
                if mentions(concept.content, name):
                    key = (hit.concept_id, entity, AssociationType.SEMANTIC)
                    batch.edge(key, MENTION_CONFIDENCE, MENTION_LABEL, None)
                    backlinks.append(key)
        return backlinks

    def _write(self, batch: _Batch, by_id: dict[str, np.ndarray]) -> None:
        """5. One transaction for everything."""
        self.storage.learn_batch(
            [
                ConceptInput(content, concept_id=concept_id, embedding=by_id[concept_id])
                for concept_id, content in batch.contents.items()
            ],
            [
                AssociationInput(source, target, kind, confidence, label=label)
                for (source, target, kind), (confidence, label) in batch.edges.items()
            ],
        )

    @staticmethod
    def _report(batch: _Batch, known: dict[str, bool], backlinks: list[Key]) -> list[LearnResult]:
        claimed: set[str] = set()
        for result, mine in zip(batch.results, batch.item_edges, strict=True):
            for concept_id in result.concept_ids:
                if not known[concept_id] and concept_id not in claimed:
                    claimed.add(concept_id)
                    result.concepts_created += 1
            result.associations = [batch.learned(key) for key in mine]
        if backlinks and batch.results:  # reported with the request's first text
            batch.results[0].associations.extend(batch.learned(key) for key in backlinks)
        return batch.results


def entity_id(name: str) -> str:
    """The concept id of an entity, from any spelling of it ("The Heart" -> id of "heart")."""
    return concept_id_for(normalise_entity(name))
