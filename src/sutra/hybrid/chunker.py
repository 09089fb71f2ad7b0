"""A small rule-based chunker: words with their case, verbs found by list and by shape,
noun phrases normalised to entity names.

No tagger model: closed classes come from `lexicon`; a word is a verb when the lexicon
knows the form and its place allows it (after a subject, not the first word). The one
ambiguity that matters, a plural noun that is also a verb ("plants", "forms"), is settled
by the next word: "green plants produce oxygen" reads "produce" as the verb.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sutra.hybrid import lexicon as lx

_WORD = re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*|[,;]")
_CATENATIVE = frozenset({"help", "tend", "seem"})  # verbs that take a verb after them
_CONTRACTIONS = {
    "can't": ("can", "not"),
    "cannot": ("can", "not"),
    "won't": ("will", "not"),
    "ain't": ("is", "not"),
}


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # lower case, apostrophes normalised
    cap: bool  # written with a capital letter
    first: bool  # the first word of its sentence

    @property
    def proper(self) -> bool:
        """Capitalised inside the sentence: a name ("Paris"), never made singular."""
        return self.cap and not self.first


def words(sentence: str) -> list[Word]:
    """The words (and commas) of a sentence, "doesn't" split into "does" + "not"."""
    found: list[Word] = []
    for match in _WORD.finditer(sentence):
        raw = match.group().replace("\u2019", "'")
        low = raw.casefold()
        parts: tuple[str, ...]
        if low in _CONTRACTIONS:
            parts = _CONTRACTIONS[low]
        elif low.endswith("n't"):
            parts = (low[:-3], "not")
        else:
            parts = (low,)
        for part in parts:
            found.append(Word(part, raw[:1].isupper(), not found))
    return found


def is_function(word: str) -> bool:
    return (
        word in lx.DETERMINERS
        or word in lx.PREPOSITIONS
        or word in lx.COPULAS
        or word in lx.AUXILIARIES
        or word in lx.CONJUNCTIONS
        or word in lx.NEGATIONS
        or word in (",", ";")
    )


def verb_form(word: str) -> tuple[str, str] | None:
    """(lemma, form) of a known verb form, or of an unknown word shaped like a past form."""
    known = lx.verb_forms().get(word)
    if known is not None:
        return known
    if len(word) > 4 and word.endswith("ed") and not is_function(word):
        return (word[:-2] if not word.endswith("ied") else word[:-3] + "y", lx.PAST)
    return None


def looks_plural(word: Word) -> bool:
    w = word.text
    return w in lx.PLURAL_NOUNS or (w.endswith("s") and not w.endswith(("ss", "us", "is")))


def verb_at(ws: list[Word], i: int, *, after_do: bool = False) -> tuple[str, str] | None:
    """The verb reading of ws[i] when the sentence allows one here, else None.

    A plain form ("eat") needs a plural-looking word before it ("koalas eat"), unless a
    "do" came before ("does X eat"); a third-person or plain form followed by another
    verb is a plural noun ("plants produce"); an unknown word ending in -s is a verb only
    when its place says so (`_unknown_verb`).
    """
    word = ws[i].text
    if is_function(word) or ws[i].proper:
        return None
    form = verb_form(word)
    following = ws[i + 1].text if i + 1 < len(ws) else ""
    if form is None:
        return _unknown_verb(ws, i)
    if form[1] in (lx.THIRD, lx.PLAIN) and i + 1 < len(ws) and form[0] not in _CATENATIVE:
        nxt = verb_form(following)
        more = i + 2 < len(ws) and not is_function(ws[i + 2].text)
        verb_next = nxt is not None and nxt[1] in (lx.PLAIN, lx.THIRD, lx.PAST)
        if verb_next and more and not ws[i + 1].proper:
            return None  # "plants produce oxygen": the first is the subject's noun
    if form[1] == lx.PLAIN and not after_do:
        before = ws[i - 1] if i > 0 else None
        compound = any(w.text == "and" for w in ws[:i])  # "smoking and drinking cause"
        if before is None or not (looks_plural(before) or before.text in lx.PRONOUNS or compound):
            return None
    if form[1] == lx.GERUND:
        return None
    return form


def _unknown_verb(ws: list[Word], i: int) -> tuple[str, str] | None:
    """An unknown word ending in -s after a noun is a verb when a determiner or
    preposition follows it ("the Danube meanders through"), or a noun that is not a verb
    ("the eye detects light"; in "the green plants produce", "produce" is the verb)."""
    word = ws[i].text
    if not word.endswith("s") or word.endswith(("ss", "us", "is")) or i == 0:
        return None
    before = ws[i - 1]
    if is_function(before.text) or i + 1 >= len(ws):
        return None
    following = ws[i + 1].text
    if following in lx.DETERMINERS or following in lx.PREPOSITIONS:
        return (word[:-1], lx.THIRD)
    if looks_plural(before) or is_function(following) or verb_form(following) is not None:
        return None
    return (word[:-1], lx.THIRD)


def singular(word: str) -> str:
    """A plural noun made singular ("mammals" -> "mammal", "berries" -> "berry")."""
    if word in lx.IRREGULAR_PLURALS:
        return lx.IRREGULAR_PLURALS[word]
    if word in lx.SINGULAR_EXCEPTIONS or "'" in word or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("oes") and len(word) > 5:
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "ics")):
        return word[:-1]
    return word


def phrase_name(ws: list[Word], *, plural_ok: bool = True) -> str:
    """The entity name of a noun phrase: lower case, without leading determiners or
    pronouns, its last word singular unless it is a name (capitalised inside a sentence)
    or `plural_ok` is False (a sentence-first subject of a singular verb: "Athens is")."""
    kept = [w for w in ws if w.text not in (",", ";")]
    while kept and (kept[0].text in lx.DETERMINERS or kept[0].text in lx.PREPOSITIONS):
        kept = kept[1:]
    if not kept:
        return ""
    last = kept[-1]
    texts = [w.text for w in kept]
    if plural_ok and not last.proper and not (last.cap and _all_capitalised(kept)):
        texts[-1] = singular(last.text)
    return " ".join(texts)


def _all_capitalised(ws: list[Word]) -> bool:
    """A multi-word name written in title case at the start ("New Zealand", "Lake Victoria")."""
    return len(ws) > 1 and all(w.cap for w in ws if w.text not in lx.PREPOSITIONS)
