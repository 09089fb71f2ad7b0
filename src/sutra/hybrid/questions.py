"""Questions read as facts with a hole: "Who wrote Hamlet?" is "? wrote Hamlet".

A question is turned into the declarative clause it asks about, with a placeholder name
where the answer goes, and read by the same rules as a learned sentence (`relations`), so
a question and the fact that answers it meet on the same relation key:

- wh as subject: "Who wrote Hamlet?" -> "<?> wrote Hamlet" (answer: the edge's source);
- inverted: "What does smoking cause?" -> "smoking cause <?>"; "Where did Ada grow up?"
  -> "Ada grow up in <?>" (where/when add "in"); "In which country did Ada grow up?" ->
  "Ada grow up in <?>", the answer a country; "Who was Hamlet written by?" -> passive,
  turned active like a fact: "<?> wrote Hamlet";
- copulas: "What is the capital of France?" -> "<?> is the capital of France"; "What is
  a dolphin?" -> "dolphin is a <?>"; "What is the heart part of?" -> "heart is part of <?>";
- yes/no: "Is Paris in France?" -> "Paris is in France", "Does smoking cause cancer?" ->
  "smoking cause cancer": both ends named.

Where the subject of an inverted question ends is ambiguous without a tagger ("Are whales
mammals"); `known` (is this name a stored entity?) settles it, the longest known prefix
winning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sutra.hybrid import lexicon as lx
from sutra.hybrid.chunker import Word, phrase_name, singular, verb_at, verb_form, words
from sutra.hybrid.relations import parse_clause

PLACEHOLDER = "qqanswer"
_HOLE = Word(PLACEHOLDER, True, False)
_LOCATIVE_WH = ("where", "when")
WH, YES_NO = "wh", "yes_no"


@dataclass(frozen=True)
class Question:
    kind: str  # WH or YES_NO
    wh: str  # "who", "what", "where", "which", ... ("" for yes/no)
    focus: str  # the kind of answer asked for: "country" in "which country" ("" if none)
    subject: str  # the entity the question names (yes/no: the fact's source)
    label: str  # the relation as asked ("grow up in", "wrote", "is the capital of")
    asks: str  # "target" or "source": which end of a matching edge answers ("" yes/no)
    object: str = ""  # yes/no: the fact's target


Known = Callable[[str], bool]


def parse_question(text: str, known: Known = lambda _: False) -> Question | None:
    """The question `text` asks, or None when it is not a question these rules read."""
    ws = words(text)
    lead = ""
    if len(ws) > 2 and ws[0].text in lx.PREPOSITIONS and ws[1].text in lx.WH_WORDS:
        lead, ws = ws[0].text, ws[1:]  # "In which country ..."
    if not ws:
        return None
    first = ws[0].text
    if first in lx.WH_WORDS:
        return _wh(ws, lead, known)
    if first in lx.COPULAS or first in lx.AUXILIARIES:
        return _yes_no(ws, known)
    return None


def _wh(ws: list[Word], lead: str, known: Known) -> Question | None:
    wh = ws[0].text
    focus, i = "", 1
    if wh in ("which", "what", "whose"):
        while i < len(ws) and _is_noun(ws[i]):
            i += 1
        focus = singular(ws[i - 1].text) if i > 1 else ""
    rest = ws[i:]
    if not rest:
        return None
    if rest[0].text in lx.COPULAS or rest[0].text in lx.AUXILIARIES:
        clause = _inverted(rest, wh, lead, known)
    else:
        clause = [_HOLE, *rest]  # the wh-word is the subject
    if clause is None:
        return None
    for fact in parse_clause(clause):
        if fact.negated:
            continue
        if fact.source == PLACEHOLDER and fact.target != PLACEHOLDER:
            return Question(WH, wh, focus, fact.target, fact.label, "source")
        if fact.target == PLACEHOLDER and fact.source != PLACEHOLDER:
            return Question(WH, wh, focus, fact.source, fact.label, "target")
    return None


def _is_noun(word: Word) -> bool:
    text = word.text
    return not (
        text in lx.COPULAS
        or text in lx.AUXILIARIES
        or text in lx.PREPOSITIONS
        or text in lx.DETERMINERS
        or text in lx.NEGATIONS
        or text in (",", ";")
        or (verb_form(text) is not None and verb_form(text)[1] != lx.PLAIN)  # type: ignore[index]
    )


def _inverted(rest: list[Word], wh: str, lead: str, known: Known) -> list[Word] | None:
    """The declarative clause of "is/does/did ... ?" after a wh-word, the hole placed."""
    aux, body = rest[0], rest[1:]
    if not body:
        return None
    tail = [Word(lead, False, False)] if lead else []
    if not tail and wh in _LOCATIVE_WH:
        tail = [Word("in", False, False)]
    if aux.text in lx.COPULAS:
        return _inverted_copula(aux, body, wh, tail, known)
    verb = _verb_index(body)
    if verb is None:
        return None
    clause = [*body[:verb], aux, *body[verb:]]  # "smoking does cause": the verb stays plain
    if clause[-1].text not in lx.PREPOSITIONS:
        clause += tail
    return [*clause, _HOLE]


def _inverted_copula(
    aux: Word, body: list[Word], wh: str, tail: list[Word], known: Known
) -> list[Word] | None:
    last = body[-1].text
    ends_open = last in lx.PREPOSITIONS or _participle(last)
    has_prep = any(w.text in lx.PREPOSITIONS for w in body[1:])
    if ends_open:  # "is the heart part of", "was Hamlet written by", "was X born"
        k = _subject_end(body, known)
        clause = [*body[:k], aux, *body[k:]]
        if last not in lx.PREPOSITIONS:
            clause += tail
        return [*clause, _HOLE]
    if tail or wh == "where":  # "where is Paris" -> "Paris is in <?>"
        return [*body, aux, *(tail or [Word("in", False, False)]), _HOLE]
    if has_prep:  # "what is the capital of France" -> "<?> is the capital of France"
        return [_HOLE, aux, *body]
    # "what is a dolphin" -> "dolphin is a <?>"; "what are whales" -> "whales are <?>"
    article = [Word("a", False, False)] if aux.text in ("is", "was") else []
    return [*body, aux, *article, _HOLE]


def _participle(text: str) -> bool:
    form = verb_form(text)
    return form is not None and form[1] in (lx.PARTICIPLE, lx.PAST)


def _verb_index(body: list[Word]) -> int | None:
    for i in range(1, len(body)):
        if verb_at(body, i, after_do=True) is not None:
            return i
    return None


def _subject_end(body: list[Word], known: Known) -> int:
    """Where the subject of an inverted clause ends: the longest known name, else the
    first article or preposition after a content word, else after one word."""
    for k in range(len(body) - 1, 0, -1):
        name = phrase_name(body[:k])
        if name and known(name):
            return k
    for k in range(1, len(body)):
        text = body[k].text
        if (text in lx.DETERMINERS or text in lx.PREPOSITIONS or _participle(text)) and any(
            w.text not in lx.DETERMINERS for w in body[:k]
        ):
            return k
    start = 0
    while start < len(body) - 1 and body[start].text in lx.DETERMINERS:
        start += 1
    return start + 1


def _yes_no(ws: list[Word], known: Known) -> Question | None:
    aux, body = ws[0], ws[1:]
    if not body:
        return None
    if aux.text in lx.COPULAS:
        k = _subject_end(body, known)
        clause = [*body[:k], aux, *body[k:]]
    else:
        verb = _verb_index(body)
        if verb is None:
            return None
        clause = [*body[:verb], aux, *body[verb:]]
    for fact in parse_clause(clause):
        if not fact.negated:
            return Question(YES_NO, "", "", fact.source, fact.label, "", fact.target)
    return None
