"""Association extraction: each relation gets the right type, direction, label and confidence."""

from __future__ import annotations

import pytest

from sutra.hybrid.extraction import (
    Relation,
    extract,
    extract_sentence,
    is_entity,
    mention_candidates,
    mentions,
    normalise_entity,
)
from sutra.storage.client import AssociationType as A

CASES = [
    # sentence, source, target, type
    ("Smoking causes cancer.", "smoking", "cancer", A.CAUSAL),
    ("Rain leads to floods.", "rain", "flood", A.CAUSAL),
    ("Heat results in expansion.", "heat", "expansion", A.CAUSAL),
    ("A dog is a mammal.", "dog", "mammal", A.HIERARCHICAL),
    ("An owl is an animal.", "owl", "animal", A.HIERARCHICAL),
    ("Whales are mammals.", "whale", "mammal", A.HIERARCHICAL),
    # every edge reads subject -> object as stated; its label says how
    ("Paris is in France.", "paris", "france", A.COMPOSITIONAL),
    (
        "The heart is part of the circulatory system.",
        "heart",
        "circulatory system",
        A.COMPOSITIONAL,
    ),
    ("The wheel belongs to the car.", "wheel", "car", A.COMPOSITIONAL),
    ("The cell contains a nucleus.", "cell", "nucleus", A.COMPOSITIONAL),
    ("The engine has pistons.", "engine", "piston", A.COMPOSITIONAL),
    ("The kit includes a manual.", "kit", "manual", A.COMPOSITIONAL),
    ("Breakfast comes before lunch.", "breakfast", "lunch", A.TEMPORAL),
    ("Dinner is after lunch.", "dinner", "lunch", A.TEMPORAL),
    ("Mix the dough then bake it.", "mix the dough", "bake it", A.TEMPORAL),
    ("A cat is like a tiger.", "cat", "tiger", A.SEMANTIC),
    ("The moon is similar to a planet.", "moon", "planet", A.SEMANTIC),
    ("Physics relates to mathematics.", "physics", "mathematics", A.SEMANTIC),
]


@pytest.mark.parametrize(("sentence", "source", "target", "kind"), CASES)
def test_pattern_type_and_direction(sentence: str, source: str, target: str, kind: A) -> None:
    relation = extract_sentence(sentence)
    assert relation is not None
    assert (relation.source, relation.target, relation.type) == (source, target, kind)
    assert 0.5 <= relation.confidence <= 0.8


def test_explicit_patterns_are_more_confident_than_vague_ones() -> None:
    explicit = extract_sentence("Smoking causes cancer.")
    vague = extract_sentence("Physics relates to mathematics.")
    assert explicit is not None and vague is not None
    assert explicit.confidence == 0.8
    assert vague.confidence < explicit.confidence


def test_the_longest_relation_phrase_wins() -> None:
    # "are in" (compositional), not "are" (hierarchical); "is a part of", not "is a".
    relation = extract_sentence("Dogs are in the garden.")
    assert relation is not None and relation.type == A.COMPOSITIONAL
    assert relation.label == "are in"
    assert extract("A wheel is a part of a car.") == [
        Relation("wheel", "car", A.COMPOSITIONAL, 0.8, "is a part of")
    ]


def test_any_verb_is_a_relation_and_sentences_without_one_give_nothing() -> None:
    relation = extract_sentence("The circulatory system transports oxygen.")
    assert relation is not None
    assert (relation.source, relation.label, relation.target) == (
        "circulatory system",
        "transports",
        "oxygen",
    )
    assert relation.type == A.SEMANTIC
    assert extract("Hello there. Nothing to see") == []


def test_every_sentence_of_a_text_is_read() -> None:
    relations = extract("Smoking causes cancer. A dog is a mammal! Smoking causes cancer.")
    assert [(r.source, r.target) for r in relations] == [("smoking", "cancer"), ("dog", "mammal")]


def test_entity_normalisation() -> None:
    assert normalise_entity("The Heart,") == "heart"
    assert normalise_entity("  an   Apple's core!") == "apple's core"
    assert normalise_entity("the") == ""
    assert normalise_entity("Mammals") == normalise_entity("a mammal") == "mammal"
    assert normalise_entity("the berries") == "berry"
    assert is_entity("circulatory system")
    assert not is_entity("The circulatory system transports oxygen.")


def test_mention_candidates_skip_stop_words_at_the_edges() -> None:
    found = mention_candidates("What does the circulatory system transport?")
    assert found[0] == "circulatory system transport"
    assert "circulatory system" in found and "system" in found
    assert not [c for c in found if c.split()[0] in {"what", "does", "the"}]
    assert mentions("The circulatory system transports oxygen.", "circulatory system")
    assert not mentions("The circulatory systems", "circulatory system")
