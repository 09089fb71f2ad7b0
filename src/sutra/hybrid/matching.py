"""How well a stored relation label matches the relation a question asks about.

Exact keys match fully ("grew up in" and "grow up in" are both "grow up in"); the same
verbs with another preposition, or a relation of the same small family ("wrote" and "is
the author of", "eat" and "feed on"), match strongly; one verb phrase inside the other
("help transport" and "transports") less; else the embedder's similarity of the two keys
decides, and only when it is high. Families also say which edges may extend an answer:
a place-valued relation ("grew up in") continues along location edges ("London is in
England"), a causal one along causes, "is a" along "is a".
"""

from __future__ import annotations

from sutra.hybrid import lexicon as lx
from sutra.hybrid.relations import relation_key
from sutra.storage.client import AssociationType

EXACT, SAME_VERBS, FAMILY, CONTAINED = 1.0, 0.9, 0.85, 0.8
SIMILAR = 0.8  # lowest embedding similarity of two keys that counts as a match

PLACE_NOUNS = lx.word_set(
    "city capital town village region province state country port district island county"
)
_LOCATIVE_VERBS = lx.word_set("locate lie situate find base sit stand largest biggest main")
_LOCATIVE_PREPS = lx.word_set("in at on within inside")
_FAMILIES: dict[str, frozenset[str]] = {
    "cause": frozenset(
        {"cause", "lead to", "result in", "trigger", "produce", "induce", "give rise to"}
    ),
    "author": frozenset({"write", "author of", "writer of", "pen", "compose", "composer of"}),
    "invent": frozenset({"invent", "inventor of", "create", "creator of", "develop"}),
    "eat": frozenset({"eat", "feed on", "consume", "prey on", "live on"}),
    "live": frozenset({"live in", "inhabit", "reside in", "dwell in", "live"}),
    "part": frozenset({"part of", "belong to", "component of", "member of"}),
    "isa": frozenset({"", "kind of", "type of", "sort of", "species of", "example of"}),
}
_TYPE_SYNONYMS = {"capital": "city", "metropolis": "city", "nation": "country"}


def content_of(key: str) -> tuple[str, ...]:
    """The verbs and nouns of a key, without prepositions and particles."""
    return tuple(w for w in key.split() if w not in lx.PREPOSITIONS and w not in lx.PARTICLES)


def is_locative(key: str) -> bool:
    """A location relation: "in", "is located in", "is a city in", "is the capital of"."""
    words = key.split()
    if not words:
        return False
    if words[-1] in _LOCATIVE_PREPS:
        return all(w in _LOCATIVE_VERBS or w in PLACE_NOUNS for w in words[:-1])
    return words[-1] == "of" and len(words) >= 2 and words[-2] in PLACE_NOUNS


def families(key: str) -> set[str]:
    found = {name for name, keys in _FAMILIES.items() if key in keys}
    if key.endswith("cause of"):
        found.add("cause")
    if is_locative(key) and not (set(key.split()) & PLACE_NOUNS):
        found.add("location")  # generic only: "capital of" asks for a capital
    return found


def edge_key(label: str, kind: AssociationType) -> str:
    """The key of a stored edge; an edge stored without a label reads by its type."""
    if label:
        return relation_key(label)
    return {
        AssociationType.CAUSAL: "cause",
        AssociationType.HIERARCHICAL: "",
        AssociationType.COMPOSITIONAL: "contain",
        AssociationType.TEMPORAL: "before",
    }.get(kind, "relate to")


def kind_word(word: str) -> str:
    return _TYPE_SYNONYMS.get(word, word)


class RelationMatch:
    """The relation a question asks about, scored against stored labels."""

    def __init__(self, label: str) -> None:
        self.key = relation_key(label)
        self.content = content_of(self.key)
        self.families = families(self.key)
        last = self.key.split()[-1] if self.key else ""
        self.place_valued = (
            last in _LOCATIVE_PREPS or "location" in self.families or "part" in self.families
        )
        self.similar: dict[str, float] = {}  # key -> embedding similarity, when known

    def score(self, key: str, kind: AssociationType) -> float:
        if key == self.key:
            if not key:  # "is a": a hierarchical edge, not a bare "is" (an attribute)
                return EXACT if kind == AssociationType.HIERARCHICAL else 0.0
            return EXACT
        if not self.key:
            return FAMILY if "isa" in families(key) and key else 0.0
        theirs = content_of(key)
        if self.content and theirs == self.content:
            return SAME_VERBS
        theirs_families = families(key)
        if self.families & theirs_families:
            return FAMILY
        if "location" in self.families and is_locative(key):
            return FAMILY  # "in" asks for any place: "is the capital of", "is a city in"
        if self.families & {"location", "part"} and (is_locative(key) or "part" in theirs_families):
            return CONTAINED  # containment either way: "part of" and "is in"
        if self.content and theirs and (set(theirs) <= set(self.content)):
            return CONTAINED
        similarity = self.similar.get(key, 0.0)
        return similarity * SAME_VERBS if similarity >= SIMILAR else 0.0

    def continues(self, key: str, kind: AssociationType) -> bool:
        """May an edge with this key extend an answer past the matching edge?"""
        if self.place_valued:
            return is_locative(key) or "part" in families(key)
        if "cause" in self.families:
            return kind == AssociationType.CAUSAL
        if not self.key:
            return kind == AssociationType.HIERARCHICAL and key == ""
        return False


def bridges(key: str, kind: AssociationType) -> bool:
    """May the subject's facts come from this edge's other end ("the heart is part of the
    circulatory system", "a dog is a mammal")?"""
    return (kind == AssociationType.HIERARCHICAL and key == "") or "part" in families(key)
