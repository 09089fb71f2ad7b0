"""The compact word lists the rule-based chunker needs: function words and verb forms.

No model and no download: closed word classes (determiners, auxiliaries, prepositions)
are listed in full; open verbs are a list of common base forms whose regular inflections
are generated, plus the irregular ones written out. A verb not listed is still found by
its shape where the sentence leaves no doubt (see `chunker.verb_at`).
"""

from __future__ import annotations

import re
from functools import cache


def word_set(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\S+", text))


DETERMINERS = word_set(
    "the a an some any this that these those its their his her my our your every each "
    "many most several few"
)
COPULAS = word_set("is are was were be been being am")
AUXILIARIES = word_set("do does did has have had will would can could may might must shall should")
NEGATIONS = word_set("not never no")
PREPOSITIONS = word_set(
    "in on at of to from by with into onto along across through over under near for about "
    "between among within inside around behind beside beneath above below toward towards "
    "via like than upon throughout beyond against without before after during since until "
    "outside off"
)
PARTICLES = word_set("up out down away back")
CONJUNCTIONS = word_set("and or")
WH_WORDS = word_set("who whom what where when which whose")
ADVERBS = word_set(
    "also often usually always mainly mostly only sometimes generally typically still "
    "already largely chiefly primarily once first later originally actually"
)
PRONOUNS = word_set("it they he she we you i")
PLURAL_NOUNS = word_set("people children men women mice geese teeth feet fish sheep deer cattle")
SINGULAR_EXCEPTIONS = word_set(
    "species series news gas bus lens chaos bias canvas atlas iris virus status corpus "
    "physics mathematics economics politics ethics"
)
IRREGULAR_PLURALS = {
    "people": "person",
    "children": "child",
    "men": "man",
    "women": "woman",
    "mice": "mouse",
    "geese": "goose",
    "teeth": "tooth",
    "feet": "foot",
    "leaves": "leaf",
    "wolves": "wolf",
    "knives": "knife",
    "lives": "life",
    "wives": "wife",
    "halves": "half",
    "shelves": "shelf",
    "calves": "calf",
}

# Base forms of common verbs with regular inflections (lemma: base form).
REGULAR_VERBS = word_set(
    """absorb adopt affect assassinate attend attract bake belong boil border breathe call
    capture carry cause celebrate chase circle clean climb close coach collect compose
    comprise condense conduct connect conquer consist contain control convert cook cool
    cover create cross cure damage decrease defeat depend deposit derive descend describe
    design destroy develop die digest direct discover divorce dominate drain edit educate
    emigrate emit employ empty enrich enter equal erode establish evaporate evolve exceed
    explain explore export feed filter flood flow follow form found fund gather generate
    govern graduate grow harvest hatch hate heat help honor honour host hunt illustrate
    import include increase infect influence inhabit inherit inspire invade invent irrigate
    join kill like link live locate love manage manufacture marry measure melt mentor
    migrate mix move murder name narrate navigate need neighbour nourish observe occupy
    open orbit originate outnumber own paint pass patent perform play pollinate pollute
    popularise popularize pour precede predict prevent prey produce propose protect prove
    provide publish pump raise reach record reduce regulate release rely repel replace
    represent require resemble result return rule sail sculpt secrete serve settle shape
    signify situate start study succeed supply support surround symbolise symbolize train
    transform translate transmit transport travel treat trigger use visit warm weigh work
    worship""",
)

# Irregular verbs: lemma -> (past, participle).
IRREGULAR_VERBS: dict[str, tuple[str, str]] = {
    "be": ("was", "been"),
    "have": ("had", "had"),
    "do": ("did", "done"),
    "lead": ("led", "led"),
    "build": ("built", "built"),
    "eat": ("ate", "eaten"),
    "drink": ("drank", "drunk"),
    "feed": ("fed", "fed"),
    "run": ("ran", "run"),
    "grow": ("grew", "grown"),
    "bear": ("bore", "born"),
    "speak": ("spoke", "spoken"),
    "teach": ("taught", "taught"),
    "sing": ("sang", "sung"),
    "win": ("won", "won"),
    "lose": ("lost", "lost"),
    "hold": ("held", "held"),
    "keep": ("kept", "kept"),
    "make": ("made", "made"),
    "write": ("wrote", "written"),
    "read": ("read", "read"),
    "know": ("knew", "known"),
    "become": ("became", "become"),
    "begin": ("began", "begun"),
    "come": ("came", "come"),
    "go": ("went", "gone"),
    "give": ("gave", "given"),
    "take": ("took", "taken"),
    "see": ("saw", "seen"),
    "find": ("found", "found"),
    "lie": ("lay", "lain"),
    "sit": ("sat", "sat"),
    "stand": ("stood", "stood"),
    "rise": ("rose", "risen"),
    "fall": ("fell", "fallen"),
    "fly": ("flew", "flown"),
    "swim": ("swam", "swum"),
    "fight": ("fought", "fought"),
    "buy": ("bought", "bought"),
    "sell": ("sold", "sold"),
    "send": ("sent", "sent"),
    "spend": ("spent", "spent"),
    "lay": ("laid", "laid"),
    "freeze": ("froze", "frozen"),
    "draw": ("drew", "drawn"),
    "drive": ("drove", "driven"),
    "leave": ("left", "left"),
    "meet": ("met", "met"),
    "bring": ("brought", "brought"),
    "think": ("thought", "thought"),
    "tell": ("told", "told"),
    "say": ("said", "said"),
    "wear": ("wore", "worn"),
    "hide": ("hid", "hidden"),
    "shine": ("shone", "shone"),
    "sink": ("sank", "sunk"),
    "strike": ("struck", "struck"),
    "spin": ("spun", "spun"),
    "steal": ("stole", "stolen"),
    "break": ("broke", "broken"),
    "choose": ("chose", "chosen"),
    "forget": ("forgot", "forgotten"),
    "shake": ("shook", "shaken"),
    "bite": ("bit", "bitten"),
    "sting": ("stung", "stung"),
    "catch": ("caught", "caught"),
    "seek": ("sought", "sought"),
    "dig": ("dug", "dug"),
    "hang": ("hung", "hung"),
    "split": ("split", "split"),
    "spread": ("spread", "spread"),
    "cost": ("cost", "cost"),
    "put": ("put", "put"),
    "set": ("set", "set"),
    "shoot": ("shot", "shot"),
    "flee": ("fled", "fled"),
    "slay": ("slew", "slain"),
    "undergo": ("underwent", "undergone"),
    "overthrow": ("overthrew", "overthrown"),
    "ring": ("rang", "rung"),
    "blow": ("blew", "blown"),
    "throw": ("threw", "thrown"),
}

PLAIN, THIRD, PAST, PARTICIPLE, GERUND = "plain", "third", "past", "participle", "gerund"


def _third(base: str) -> str:
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        return base + "es"
    if base.endswith("y") and base[-2:-1] not in "aeiou":
        return base[:-1] + "ies"
    return base + "s"


def _past(base: str) -> list[str]:
    if base.endswith("e"):
        return [base + "d"]
    if base.endswith("y") and base[-2:-1] not in "aeiou":
        return [base[:-1] + "ied"]
    forms = [base + "ed"]
    if len(base) <= 4 and re.fullmatch(r".*[^aeiou][aeiou][bdglmnprt]", base):
        forms.append(base + base[-1] + "ed")  # stop -> stopped
    return forms


def _gerund(base: str) -> list[str]:
    if base.endswith("ie"):
        return [base[:-2] + "ying"]
    if base.endswith("e") and not base.endswith("ee"):
        return [base[:-1] + "ing"]
    forms = [base + "ing"]
    if len(base) <= 4 and re.fullmatch(r".*[^aeiou][aeiou][bdglmnprt]", base):
        forms.append(base + base[-1] + "ing")
    return forms


@cache
def verb_forms() -> dict[str, tuple[str, str]]:
    """Every known verb form -> (lemma, form), the irregular forms winning over generated."""
    forms: dict[str, tuple[str, str]] = {}
    for base in sorted(REGULAR_VERBS | IRREGULAR_VERBS.keys()):
        forms.setdefault(base, (base, PLAIN))
        forms.setdefault(_third(base), (base, THIRD))
        for gerund in _gerund(base):
            forms.setdefault(gerund, (base, GERUND))
        if base not in IRREGULAR_VERBS:
            for past in _past(base):
                forms.setdefault(past, (base, PAST))
    for base, (past, participle) in IRREGULAR_VERBS.items():
        forms[past] = (base, PAST)
        forms[participle] = (base, PARTICIPLE if participle != past else PAST)
    forms["has"], forms["does"], forms["is"] = ("have", THIRD), ("do", THIRD), ("be", THIRD)
    forms["found"] = ("find", PAST)  # "found" is far more often find's past than found
    forms["founded"] = ("found", PAST)
    return forms


def lemma(word: str) -> str:
    """The base form of a known verb form ("grew" -> "grow"), else the word."""
    known = verb_forms().get(word)
    return known[0] if known else word


def past_of(base: str) -> str:
    """The simple past of a base form ("write" -> "wrote", "invent" -> "invented")."""
    if base in IRREGULAR_VERBS:
        return IRREGULAR_VERBS[base][0]
    return _past(base)[0]


def third_of(base: str) -> str:
    return _third(base)
