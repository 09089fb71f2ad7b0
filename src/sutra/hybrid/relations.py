"""Relations read from a sentence: subject, relation phrase, object.

One clause is `subject VERB-GROUP object`; the verb group is found by `chunker.verb_at`
and read with its auxiliaries, negation, particles and trailing preposition:

- active ("Ada Lovelace grew up in London"): label "grew up in", subject -> object;
- passive ("Hamlet was written by Shakespeare"): turned active, Shakespeare -> Hamlet,
  label "wrote";
- copulas: "X is a Y" (hierarchical, "is a"), "X is the capital of Y" (label "is the
  capital of"; "X is a city in Y" also gives "X is a city"), "X is in Y", "X is made of Y";
- possessives: "France's capital is Paris" reads as "Paris is the capital of France";
  "Einstein's theory ..." adds "Einstein has theory";
- negation is kept: "Whales do not lay eggs" is a fact labelled "not lay", never the
  positive "lay";
- conjunctions split: "Rain and snow cause floods" is two facts ("Romeo and Juliet was
  written by ..." is one subject: the verb is singular).

Edges read subject -> object as stated (passives turned active); the label says how.
The type comes from the relation's key, its lemmas without auxiliaries ("grew up in" ->
"grow up in"): causal, hierarchical, compositional, temporal, else semantic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sutra.hybrid import lexicon as lx
from sutra.hybrid.chunker import Word, is_function, phrase_name, verb_at, verb_form, words
from sutra.hybrid.text import stem
from sutra.storage.client import AssociationType

MAX_ENTITY_WORDS = 8
RELATIONAL_WORDS = 4  # at most this many words between a copula and its preposition
_NOT_ADVERBS = lx.word_set("italy july family supply fly reply apply ally only holy")
_CLAUSE_BREAKS = lx.word_set("that which who whom whose because while when where although")
_CATENATIVE = lx.word_set("help helps helped tend tends seem seems")
_NOT_IS_A = lx.word_set("part kind type sort member example form cause")

S, C, T, H, P = (
    AssociationType.SEMANTIC,
    AssociationType.CAUSAL,
    AssociationType.TEMPORAL,
    AssociationType.HIERARCHICAL,
    AssociationType.COMPOSITIONAL,
)


@dataclass(frozen=True, slots=True)
class Fact:
    """One stated relation: source -> target, labelled, typed; negated facts say "not"."""

    source: str
    label: str
    target: str
    type: AssociationType
    confidence: float
    negated: bool = False


@dataclass
class Group:
    """A clause's verb group: where it ends and what it holds."""

    end: int
    copula: str = ""
    negated: bool = False
    verbs: list[tuple[str, str, str]] = field(default_factory=list)  # (lemma, form, written)
    particles: list[str] = field(default_factory=list)
    prep: str = ""
    guessed: bool = False

    @property
    def singular(self) -> bool:
        """The verb agrees with a singular subject ("is", "was", "causes", "has")."""
        if self.copula:
            return self.copula in ("is", "was")
        return bool(self.verbs) and self.verbs[0][1] == lx.THIRD


def relation_key(label: str) -> str:
    """What a label means, for matching: lemmas, no copula, auxiliary or article
    ("was born in" -> "bear in", "is the capital of" -> "capital of", "is a" -> "")."""
    out: list[str] = []
    for word in label.split():
        if word in lx.COPULAS or word in lx.AUXILIARIES or word in lx.DETERMINERS:
            continue
        known = lx.lemma(word)
        if known == word and not out and word not in lx.PREPOSITIONS and not is_function(word):
            known = stem(word)  # an unknown verb: "detects" -> "detect"
        out.append(known)
    if not out and any(w in ("has", "have", "had") for w in label.split()):
        return "have"  # "has" as the verb itself
    return " ".join(out)


_CAUSAL = ("cause", "lead to", "result in", "trigger", "produce", "induce", "give rise to")
_COMPOSITIONAL = (
    "part of",
    "belong to",
    "contain",
    "include",
    "have",
    "consist of",
    "comprise",
    "make of",
    "compose of",
    "in",
    "inside",
    "within",
)
_TEMPORAL = ("before", "after", "precede", "follow", "then", "come before", "come after")
_HIERARCHICAL = ("kind of", "type of", "sort of", "species of", "member of", "example of")


def classify(label: str, negated: bool = False) -> tuple[AssociationType, float]:
    """The type and the confidence of a relation with this label."""
    key = relation_key(label)
    if negated:
        return S, 0.8
    words_ = label.split()
    if not key:
        bare = len(words_) == 1
        if bare and words_[0] in ("is", "was"):
            return S, 0.6
        return H, 0.6 if "the" in words_ else (0.7 if bare else 0.8)
    if key.startswith(("relate to", "similar to", "like", "related to", "resemble")):
        return S, 0.6 if key.startswith(("relate", "related")) else 0.8
    for kind, keys in ((C, _CAUSAL), (T, _TEMPORAL), (H, _HIERARCHICAL), (P, _COMPOSITIONAL)):
        for k in keys:
            if key == k or key.startswith(k + " "):
                vague = k in ("have", "in", "then") or (kind == T and key.startswith("come"))
                return kind, 0.7 if vague and k != "come before" else 0.8
    if key.endswith(" cause of") or key == "cause of":
        return C, 0.8
    return S, 0.8


# ------------------------------------------------------------------------- parsing


def parse(sentence: str) -> list[Fact]:
    """Every fact a sentence states, in order."""
    found: list[Fact] = []
    for clause in _clauses(words(sentence)):
        found.extend(parse_clause(clause))
    return found


def _clauses(ws: list[Word]) -> list[list[Word]]:
    parts: list[list[Word]] = [[]]
    for word in ws:
        if word.text in (";", "but"):
            parts.append([])
        else:
            parts[-1].append(word)
    return [p for p in parts if p]


def parse_clause(ws: list[Word]) -> list[Fact]:
    then = _temporal_then(ws)
    if then is not None:
        return [then]
    start = _verb_start(ws)
    if start is None:
        return []
    group = read_group(ws, start)
    subject_ws, rest = ws[:start], ws[group.end :]
    if group.verbs:
        facts = _verbal(subject_ws, group, rest)
    elif group.copula:
        facts = _copular(subject_ws, group, rest)
    else:
        return []
    return [f for f in facts if _valid(f)]


def _valid(fact: Fact) -> bool:
    return (
        bool(fact.source and fact.target)
        and fact.source != fact.target
        and max(len(fact.source.split()), len(fact.target.split())) <= MAX_ENTITY_WORDS
    )


def _temporal_then(ws: list[Word]) -> Fact | None:
    texts = [w.text for w in ws]
    if "then" not in texts[1:]:
        return None
    k = texts.index("then", 1)
    left = ws[:k]
    while left and left[-1].text in ("and", ","):
        left = left[:-1]
    a, b = phrase_name(left, plural_ok=False), phrase_name(ws[k + 1 :], plural_ok=False)
    return Fact(a, "then", b, T, 0.7) if a and b else None


def _verb_start(ws: list[Word]) -> int | None:
    """Where the verb group starts: the first auxiliary, copula or verb after a subject."""
    for i in range(1, len(ws)):
        if not any(not is_function(w.text) for w in ws[:i]):
            continue
        text = ws[i].text
        if text in _CLAUSE_BREAKS or text == ",":
            return None
        if text in lx.COPULAS or text in lx.AUXILIARIES or text in ("not", "never"):
            return i
        if verb_at(ws, i) is not None:
            return i
    return None


def _adverb(text: str) -> bool:
    return text in lx.ADVERBS or (
        text.endswith("ly") and len(text) > 4 and text not in _NOT_ADVERBS
    )


def read_group(ws: list[Word], start: int) -> Group:
    """The verb group from `start`: auxiliaries, negation, adverbs, verbs, particles and
    one trailing preposition."""
    group = Group(end=start)
    j = start
    while j < len(ws):
        text = ws[j].text
        if text in lx.NEGATIONS:
            group.negated = True
        elif text in lx.COPULAS and not group.verbs:
            group.copula = group.copula or text
        elif text in ("has", "have", "had") and not group.verbs and not _participle_next(ws, j):
            group.verbs.append(("have", lx.THIRD if text == "has" else lx.PLAIN, text))
        elif (text in lx.AUXILIARIES and not group.verbs) or _adverb(text):
            pass
        elif not _take_verb(ws, j, group):
            break
        j += 1
    if group.verbs:
        while j < len(ws) and ws[j].text in lx.PARTICLES:
            group.particles.append(ws[j].text)
            j += 1
    if j < len(ws) and ws[j].text in lx.PREPOSITIONS and (group.verbs or group.copula):
        group.prep = ws[j].text
        j += 1
    group.end = j
    return group


def _participle_next(ws: list[Word], j: int) -> bool:
    for word in ws[j + 1 : j + 3]:
        if word.text in lx.NEGATIONS or _adverb(word.text):
            continue
        form = verb_form(word.text)
        return form is not None and form[1] in (lx.PARTICIPLE, lx.PAST)
    return False


def _take_verb(ws: list[Word], j: int, group: Group) -> bool:
    """Add ws[j] to the group's verbs when it can be one here; False ends the group."""
    text = ws[j].text
    if group.verbs:
        if group.verbs[-1][2] in _CATENATIVE or group.verbs[-1][0] == "help":
            form = verb_form(text) or (text, lx.PLAIN)  # "helps detect": any word is a verb
            if form[1] == lx.PLAIN and not is_function(text) and not ws[j].proper:
                group.verbs.append((form[0], form[1], text))
                return True
        return False
    if group.copula:
        form = verb_form(text)
        if form is None or form[1] not in (lx.PARTICIPLE, lx.PAST) or ws[j].proper:
            return False
    else:
        auxiliary = j > 0 and ws[j - 1].text in lx.AUXILIARIES | lx.NEGATIONS
        form = verb_at(ws, j, after_do=auxiliary)
        if form is None:
            return False
        group.guessed = text not in lx.verb_forms()
    group.verbs.append((form[0], form[1], text))
    return True


# ------------------------------------------------------------------------ noun phrases


def _cut_object(ws: list[Word]) -> list[Word]:
    """The object noun phrase: up to a clause break, a preposition other than "of", or a
    participle ("rings made of ice" -> "rings")."""
    for i, word in enumerate(ws):
        if i == 0:
            continue
        text = word.text
        if text in _CLAUSE_BREAKS or (
            text == "," and i + 1 < len(ws) and ws[i + 1].text in (_CLAUSE_BREAKS)
        ):
            return ws[:i]
        if text in lx.PREPOSITIONS and text != "of":
            return ws[:i]
        form = verb_form(text)
        if form is not None and form[1] in (lx.PARTICIPLE, lx.PAST) and not word.proper:
            return ws[:i]
    return ws


def _split(ws: list[Word]) -> list[list[Word]]:
    """Noun phrases joined by "and", "or" or commas."""
    parts: list[list[Word]] = [[]]
    for word in ws:
        if word.text in ("and", "or", ","):
            parts.append([])
        else:
            parts[-1].append(word)
    return [p for p in parts if p]


def _names(ws: list[Word], *, split: bool, plural_ok: bool = True) -> list[str]:
    groups = _split(ws) if split else [ws]
    return [n for n in (phrase_name(g, plural_ok=plural_ok) for g in groups) if n]


def _subjects(ws: list[Word], group: Group) -> list[str]:
    return _names(ws, split=not group.singular, plural_ok=not group.singular)


def _possessive(ws: list[Word]) -> tuple[str, str] | None:
    """("france", "capital") for "France's capital"."""
    for i, word in enumerate(ws):
        if word.text.endswith("'s") and i + 1 < len(ws):
            owner = phrase_name(
                [*ws[:i], Word(word.text[:-2], word.cap, word.first)], plural_ok=False
            )
            thing = phrase_name(ws[i + 1 :], plural_ok=False)
            if owner and thing:
                return owner, thing
    return None


def _facts(
    sources: list[str], label: str, targets: list[str], negated: bool, guessed: bool = False
) -> list[Fact]:
    kind, confidence = classify(label, negated)
    if guessed:
        confidence = min(confidence, 0.6)
    shown = f"not {label}" if negated else label
    return [Fact(s, shown, t, kind, confidence, negated) for s in sources for t in targets]


def _owner_facts(subject_ws: list[Word]) -> list[Fact]:
    owned = _possessive(subject_ws)
    if owned is None:
        return []
    return [Fact(owned[0], "has", owned[1], P, 0.7)]


def _verbal(subject_ws: list[Word], group: Group, rest: list[Word]) -> list[Fact]:
    """A clause with a verb: active, or passive when a copula comes first."""
    objects = _names(_cut_object(rest), split=True)
    written = " ".join([v[2] for v in group.verbs] + group.particles)
    if group.copula and group.prep == "by":  # passive with its agent: turned active
        label = " ".join([lx.past_of(group.verbs[0][0]), *group.particles])
        return _facts(objects, label, _names(subject_ws, split=False), group.negated)
    if group.copula and not group.prep and rest:  # "is frozen water": an adjective
        return _copular(subject_ws, Group(end=0, copula=group.copula), _with(group, rest))
    label = " ".join(p for p in (group.copula, written, group.prep) if p)
    facts = _facts(_subjects(subject_ws, group), label, objects, group.negated, group.guessed)
    return facts + (_owner_facts(subject_ws) if facts else [])


def _with(group: Group, rest: list[Word]) -> list[Word]:
    return [Word(v[2], False, False) for v in group.verbs] + rest


def _copular(subject_ws: list[Word], group: Group, rest: list[Word]) -> list[Fact]:
    """ "X is in Y", "X is the capital of Y", "X is a Y", "X's Y is Z"."""
    copula, negated = group.copula, group.negated
    subjects = _subjects(subject_ws, group)
    if group.prep:
        label = f"{copula} {group.prep}"
        return _facts(subjects, label, _names(_cut_object(rest), split=True), negated)
    relational = _relational(rest)
    if relational is not None:
        p = relational
        label = " ".join([copula, *(w.text for w in rest[: p + 1])])
        targets = _names(_cut_object(rest[p + 1 :]), split=True)
        facts = _facts(subjects, label, targets, negated)
        head = [w for w in rest[:p] if w.text not in lx.DETERMINERS]
        if rest[0].text in ("a", "an") and head and head[-1].text not in _NOT_IS_A:
            facts += _facts(
                subjects, f"{copula} {rest[0].text}", _names(head, split=False), negated
            )
        return facts
    owned = _possessive(subject_ws)
    complement = _names(_cut_object(rest), split=True)
    if owned is not None:  # "France's capital is Paris": Paris is the capital of France
        return _facts(complement, f"{copula} the {owned[1]} of", [owned[0]], negated)
    article = rest[0].text if rest and rest[0].text in ("a", "an", "the") else ""
    label = f"{copula} {article}".strip()
    return _facts(subjects, label, complement, negated)


def _relational(rest: list[Word]) -> int | None:
    """The index of the preposition of "the capital of", "a city in", "part of", "similar
    to": a few words without a verb, then a preposition and something after it."""
    for p in range(1, min(len(rest) - 1, RELATIONAL_WORDS + 1)):
        text = rest[p].text
        if text in lx.PREPOSITIONS:
            between = rest[:p]
            if any(w.text in _CLAUSE_BREAKS or w.proper for w in between):
                return None
            return p
        if text in _CLAUSE_BREAKS or text == ",":
            return None
    return None
