"""Association extraction: each pattern gives the right type, direction and confidence."""

from __future__ import annotations

import pytest

from sutra.hybrid.extraction import (
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
    ("Rain leads to floods.", "rain", "floods", A.CAUSAL),
    ("Heat results in expansion.", "heat", "expansion", A.CAUSAL),
    ("A dog is a mammal.", "dog", "mammal", A.HIERARCHICAL),
    ("An owl is an animal.", "owl", "animal", A.HIERARCHICAL),
    ("Whales are mammals.", "whales", "mammals", A.HIERARCHICAL),
    # compositional: container -> part, whichever way round the sentence puts it
    ("Paris is in France.", "france", "paris", A.COMPOSITIONAL),
    (
        "The heart is part of the circulatory system.",
        "circulatory system",
        "heart",
        A.COMPOSITIONAL,
    ),
    ("The wheel belongs to the car.", "car", "wheel", A.COMPOSITIONAL),
    ("The cell contains a nucleus.", "cell", "nucleus", A.COMPOSITIONAL),
    ("The engine has pistons.", "engine", "pistons", A.COMPOSITIONAL),
    ("The kit includes a manual.", "kit", "manual", A.COMPOSITIONAL),
    # temporal: earlier -> later
    ("Breakfast comes before lunch.", "breakfast", "lunch", A.TEMPORAL),
    ("Dinner is after lunch.", "lunch", "dinner", A.TEMPORAL),
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


def test_earliest_and_longest_verb_phrase_wins() -> None:
    # "are in" (compositional), not "are" (hierarchical); "is a part of", not "is a".
    relation = extract_sentence("Dogs are in the garden.")
    assert relation is not None and relation.type == A.COMPOSITIONAL
    relation = extract_sentence("A wheel is a part of a car.")
    assert relation is not None
    assert (relation.source, relation.target, relation.type) == ("car", "wheel", A.COMPOSITIONAL)


def test_sentences_without_a_pattern_give_nothing() -> None:
    assert extract_sentence("The circulatory system transports oxygen.") is None
    assert extract("Hello there. Nothing to see") == []


def test_every_sentence_of_a_text_is_read() -> None:
    relations = extract("Smoking causes cancer. A dog is a mammal! Smoking causes cancer.")
    assert [(r.source, r.target) for r in relations] == [("smoking", "cancer"), ("dog", "mammal")]


def test_entity_normalisation() -> None:
    assert normalise_entity("The Heart,") == "heart"
    assert normalise_entity("  an   Apple's core!") == "apple's core"
    assert normalise_entity("the") == ""
    assert is_entity("circulatory system")
    assert not is_entity("The circulatory system transports oxygen.")


def test_mention_candidates_skip_stop_words_at_the_edges() -> None:
    found = mention_candidates("What does the circulatory system transport?")
    assert found[0] == "circulatory system transport"
    assert "circulatory system" in found and "system" in found
    assert not [c for c in found if c.split()[0] in {"what", "does", "the"}]
    assert mentions("The circulatory system transports oxygen.", "circulatory system")
    assert not mentions("The circulatory systems", "circulatory system")
