"""Association extraction: labelled, typed relations between entities, read from sentences.

`relations` reads each sentence with a small rule-based chunker (`chunker`): subject,
relation phrase and object, in active or passive voice, copulas ("is a", "is the capital
of"), verb + preposition ("grew up in", "runs along"), possessives, negation and
conjunctions. Every relation keeps its phrase as a label beside its type:

- causal ("causes", "leads to"), hierarchical ("is a", "are"), compositional ("is part
  of", "contains", "has", "is in"), temporal ("before", "after", "then"), else semantic;
- an edge reads subject -> object as stated ("heart" -is part of-> "circulatory
  system"); a passive is turned active ("Hamlet was written by Shakespeare" stores
  shakespeare -wrote-> hamlet);
- a negated relation is labelled "not ..." and is never read as the positive one.

Entities are normalised (case, punctuation, leading articles, a plural head made
singular unless it is a name) so that "Mammals" and "a mammal" are one concept, with the
same id everywhere (`sutra.storage.ids`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from sutra.hybrid.chunker import phrase_name, singular, words
from sutra.hybrid.relations import MAX_ENTITY_WORDS, parse
from sutra.hybrid.text import STOP_WORDS, tokens
from sutra.storage.client import AssociationType

MAX_MENTION_WORDS = 4
MAX_LABEL = 200  # the storage server's bound on a label

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_DETERMINERS = frozenset({"the", "a", "an", "some", "any", "this", "that", "these", "those"})


@dataclass(frozen=True, slots=True)
class Relation:
    """A labelled, typed edge between two normalised entities, as it is stored."""

    source: str
    target: str
    type: AssociationType
    confidence: float
    label: str
    negated: bool = False

    @property
    def pattern(self) -> str:
        return self.label


def clean_phrase(text: str) -> str:
    """Lower case, no punctuation or leading articles: how an entity name is written."""
    words_ = tokens(text)
    while words_ and words_[0] in _DETERMINERS:
        words_ = words_[1:]
    return " ".join(words_)


def normalise_entity(text: str) -> str:
    """An entity name as stored ("The Hearts," -> "heart", "Mammals" -> "mammal"): lower
    case, no punctuation or leading articles, the last word singular unless it is a name
    (capitalised inside the text)."""
    return phrase_name(words(text))


def is_entity(content: str) -> bool:
    """True for an entity concept (stored normalised and short), False for a statement."""
    words_ = content.split()
    return 0 < len(words_) <= MAX_ENTITY_WORDS and content == clean_phrase(content)


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def extract_sentence(sentence: str) -> Relation | None:
    """The first relation one sentence states, or None."""
    found = extract(sentence)
    return found[0] if found else None


def extract(text: str) -> list[Relation]:
    """Every relation stated in `text`, sentence by sentence, in order, without repeats."""
    found: list[Relation] = []
    seen: set[tuple[str, str, AssociationType]] = set()
    for sentence in sentences(text):
        for fact in parse(sentence):
            key = (fact.source, fact.target, fact.type)
            if key not in seen:
                seen.add(key)
                label = fact.label[:MAX_LABEL]
                found.append(
                    Relation(
                        fact.source, fact.target, fact.type, fact.confidence, label, fact.negated
                    )
                )
    return found


def mention_candidates(text: str, *, limit: int = 48) -> list[str]:
    """Phrases of 1..4 words in `text` that could name an entity, longest first.

    A phrase neither starts nor ends with a stop word ("circulatory system", "speed of
    light", "heart"); the result is what `normalise_entity` would make of it, so its id is
    the entity's id.
    """
    words = tokens(text)
    found: dict[str, None] = {}
    for size in range(MAX_MENTION_WORDS, 0, -1):
        for start in range(len(words) - size + 1):
            phrase = words[start : start + size]
            if phrase[0] in STOP_WORDS or phrase[-1] in STOP_WORDS:
                continue
            if phrase[0].isdigit() and size == 1:
                continue
            found.setdefault(" ".join(phrase), None)
            found.setdefault(" ".join([*phrase[:-1], singular(phrase[-1])]), None)
            if len(found) >= limit:
                return list(found)[:limit]
    return list(found)


def mentions(text: str, phrase: str) -> bool:
    """True when the normalised `phrase` occurs in `text` as whole words."""
    words, wanted = tokens(text), phrase.split()
    return any(words[i : i + len(wanted)] == wanted for i in _starts(words, wanted))


def _starts(words: list[str], wanted: list[str]) -> Iterator[int]:
    if not wanted:
        return
    for i in range(len(words) - len(wanted) + 1):
        if words[i] == wanted[0]:
            yield i
