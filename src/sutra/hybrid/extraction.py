"""Association extraction: typed relations between entities, read from sentence patterns.

"X causes Y" is causal, "X is a Y" hierarchical, "X is part of Y" and "X contains Y"
compositional, "X before Y" temporal, "X is like Y" semantic. Explicit patterns get
confidence 0.8, as in the original; vaguer ones ("X has Y", "X are Y", "X relates to Y")
less. Directions are fixed per type, so a stored edge reads one way only:

- causal: cause -> effect;  hierarchical: specific -> general ("dog" -> "mammal");
- compositional: container -> part, whichever way the sentence says it ("X is part of Y"
  stores Y -> X, "X contains Y" stores X -> Y);
- temporal: earlier -> later ("X after Y" stores Y -> X);  semantic: as written.

Entities are normalised (case, punctuation, leading articles) so that "The heart" and
"heart" are the same concept, with the same id everywhere (`sutra.storage.ids`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from sutra.hybrid.text import STOP_WORDS, tokens
from sutra.storage.client import AssociationType

MAX_ENTITY_WORDS = 8
MAX_MENTION_WORDS = 4

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_DETERMINERS = frozenset({"the", "a", "an", "some", "any", "this", "that", "these", "those"})


@dataclass(frozen=True, slots=True)
class Pattern:
    name: str
    verbs: str  # alternation of verb phrases, longest first
    type: AssociationType
    confidence: float
    reverse: bool = False  # True: the edge runs Y -> X


S, C, T, H, P = (
    AssociationType.SEMANTIC,
    AssociationType.CAUSAL,
    AssociationType.TEMPORAL,
    AssociationType.HIERARCHICAL,
    AssociationType.COMPOSITIONAL,
)

PATTERNS: tuple[Pattern, ...] = (
    Pattern("causes", r"causes|cause|caused", C, 0.8),
    Pattern("leads to", r"leads to|lead to|led to", C, 0.8),
    Pattern("results in", r"results in|result in|resulted in", C, 0.8),
    Pattern("is part of", r"is a part of|is part of|are part of|are parts of", P, 0.8, True),
    Pattern("belongs to", r"belongs to|belong to", P, 0.8, True),
    Pattern("is in", r"is inside|is in|are inside|are in", P, 0.7, True),
    Pattern("contains", r"contains|contain", P, 0.8),
    Pattern("includes", r"includes|include", P, 0.8),
    Pattern("has", r"has|have", P, 0.7),
    Pattern("is similar to", r"is similar to|are similar to", S, 0.8),
    Pattern("is like", r"is like|are like", S, 0.7),
    Pattern("relates to", r"relates to|relate to|is related to|are related to", S, 0.6),
    Pattern("is a", r"is an|is a", H, 0.8),
    Pattern("is the", r"is the|are the", H, 0.6),
    Pattern("are", r"are", H, 0.7),
    Pattern("before", r"happens before|comes before|is before|are before|before", T, 0.8),
    Pattern("after", r"happens after|comes after|is after|are after|after", T, 0.8, True),
    Pattern("then", r"and then|then", T, 0.7),
)

_COMPILED = [
    (pattern, re.compile(rf"\b(?:{pattern.verbs})\b", re.IGNORECASE)) for pattern in PATTERNS
]


@dataclass(frozen=True, slots=True)
class Relation:
    """A typed edge between two normalised entities, as it is stored."""

    source: str
    target: str
    type: AssociationType
    confidence: float
    pattern: str


def normalise_entity(text: str) -> str:
    """An entity name as stored ("The Heart," -> "heart"): lower case, no punctuation or
    leading articles."""
    words = tokens(text)
    while words and words[0] in _DETERMINERS:
        words = words[1:]
    return " ".join(words)


def is_entity(content: str) -> bool:
    """True for an entity concept (stored normalised and short), False for a statement."""
    words = content.split()
    return 0 < len(words) <= MAX_ENTITY_WORDS and content == normalise_entity(content)


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def extract_sentence(sentence: str) -> Relation | None:
    """The relation stated by one sentence: the earliest verb phrase, the longest on a tie."""
    best: tuple[int, int, int, Pattern, re.Match[str]] | None = None
    for order, (pattern, regex) in enumerate(_COMPILED):
        for match in regex.finditer(sentence):
            x = normalise_entity(sentence[: match.start()])
            y = normalise_entity(sentence[match.end() :])
            if not x or not y or x == y:
                continue
            if max(len(x.split()), len(y.split())) > MAX_ENTITY_WORDS:
                continue
            key = (match.start(), -(match.end() - match.start()), order, pattern, match)
            if best is None or key[:3] < best[:3]:
                best = key
            break  # later matches of the same pattern start later
    if best is None:
        return None
    _, _, _, pattern, match = best
    x = normalise_entity(sentence[: match.start()])
    y = normalise_entity(sentence[match.end() :])
    source, target = (y, x) if pattern.reverse else (x, y)
    return Relation(source, target, pattern.type, pattern.confidence, pattern.name)


def extract(text: str) -> list[Relation]:
    """Every relation stated in `text`, sentence by sentence, in order, without repeats."""
    found: list[Relation] = []
    seen: set[tuple[str, str, AssociationType]] = set()
    for sentence in sentences(text):
        relation = extract_sentence(sentence)
        if relation is not None:
            key = (relation.source, relation.target, relation.type)
            if key not in seen:
                seen.add(key)
                found.append(relation)
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
            if len(found) >= limit:
                return list(found)
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
