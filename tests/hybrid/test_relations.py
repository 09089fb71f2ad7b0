"""Relation extraction per construction: subject, relation phrase (label), object, type."""

from __future__ import annotations

import pytest

from sutra.hybrid.extraction import extract, normalise_entity
from sutra.hybrid.relations import classify, relation_key
from sutra.storage.client import AssociationType as A


def triples(text: str) -> list[tuple[str, str, str]]:
    return [(r.source, r.label, r.target) for r in extract(text)]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # active voice, any verb
        ("Otters eat sea urchins.", [("otter", "eat", "sea urchin")]),
        ("Marie Curie discovered polonium in 1898.", [("marie curie", "discovered", "polonium")]),
        # verb + preposition (and particle)
        ("Grace Hopper grew up in New York.", [("grace hopper", "grew up in", "new york")]),
        ("The Rhine runs along Basel.", [("rhine", "runs along", "basel")]),
        ("The violin belongs to the orchestra.", [("violin", "belongs to", "orchestra")]),
        # an unknown verb, known by its shape
        ("The Thames meanders through Oxford.", [("thames", "meanders through", "oxford")]),
    ],
)
def test_active_and_verb_preposition(sentence: str, expected: list) -> None:
    assert triples(sentence) == expected


def test_passive_is_turned_active() -> None:
    assert triples("Frankenstein was written by Mary Shelley.") == [
        ("mary shelley", "wrote", "frankenstein")
    ]
    assert triples("The radio was invented by Guglielmo Marconi.") == [
        ("guglielmo marconi", "invented", "radio")
    ]
    # Without an agent it is a relation of its own.
    assert triples("Butter is made from cream.") == [("butter", "is made from", "cream")]


def test_copulas() -> None:
    assert extract("A tulip is a flower.")[0].type == A.HIERARCHICAL
    assert triples("Lisbon is the capital of Portugal.") == [
        ("lisbon", "is the capital of", "portugal")
    ]
    # "is a city in": the relation, and what the subject is.
    assert triples("Porto is a city in Portugal.") == [
        ("porto", "is a city in", "portugal"),
        ("porto", "is a", "city"),
    ]
    assert triples("Quito is in Ecuador.") == [("quito", "is in", "ecuador")]


def test_possessives() -> None:
    # "Peru's capital is Lima" says what "Lima is the capital of Peru" says.
    assert triples("Peru's capital is Lima.") == [("lima", "is the capital of", "peru")]
    assert ("tesla", "has", "coil") in triples("Tesla's coil produces sparks.")


def test_negation_is_kept_and_never_positive() -> None:
    (fact,) = extract("Hedgehogs do not eat chocolate.")
    assert (fact.source, fact.label, fact.target) == ("hedgehog", "not eat", "chocolate")
    assert fact.negated and fact.type == A.SEMANTIC
    (fact,) = extract("Spiders are not insects.")
    assert fact.label == "not are" and fact.negated
    (fact,) = extract("Snails have no legs.")
    assert fact.negated


def test_conjunctions_split_unless_the_verb_is_singular() -> None:
    assert triples("Wind and rain cause erosion.") == [
        ("wind", "cause", "erosion"),
        ("rain", "cause", "erosion"),
    ]
    assert triples("Owls hunt mice and voles.") == [
        ("owl", "hunt", "mouse"),
        ("owl", "hunt", "vole"),
    ]
    # A singular verb: "Romeo and Juliet" is one title.
    assert triples("Romeo and Juliet was written by Shakespeare.") == [
        ("shakespeare", "wrote", "romeo and juliet")
    ]


def test_normalisation_meets_plural_and_singular_and_keeps_names() -> None:
    assert normalise_entity("Tulips") == normalise_entity("a tulip") == "tulip"
    assert normalise_entity("the berries") == "berry"
    assert normalise_entity("the Andes") == "andes"  # a name inside the text
    assert triples("Athens is the capital of Greece.")[0][0] == "athens"  # singular verb
    assert triples("Tulips are flowers.") == [("tulip", "are", "flower")]
    assert triples("Children love Paris.") == [("child", "love", "paris")]


def test_types_and_keys_come_from_the_relation_phrase() -> None:
    assert classify("causes") == (A.CAUSAL, 0.8)
    assert classify("leads to")[0] == A.CAUSAL
    assert classify("is part of")[0] == A.COMPOSITIONAL
    assert classify("is a")[0] == A.HIERARCHICAL
    assert classify("comes before")[0] == A.TEMPORAL
    assert classify("grew up in")[0] == A.SEMANTIC
    assert relation_key("grew up in") == relation_key("grow up in") == "grow up in"
    assert relation_key("is the capital of") == "capital of"
    assert relation_key("was born in") == "bear in"


def test_plural_nouns_that_look_like_verbs_are_subjects() -> None:
    assert triples("Green plants produce oxygen.") == [("green plant", "produce", "oxygen")]
    assert triples("Friction produces heat.") == [("friction", "produces", "heat")]
    assert triples("Hello there. Nothing to see") == []
