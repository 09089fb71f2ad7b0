"""Words: the tokenizer, stop words and stemmer shared by extraction and embeddings.

scikit-learn's English stop-word list is not used: it holds content words such as
"system", "part" and "fire", which are exactly what facts are about.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*")

# Function words: they never start or end an entity name and carry no meaning of their own.
STOP_WORDS = frozenset(
    re.findall(
        r"\S+",
        """a about above after again against all also am an and any are as at be because been
        before being below between both but by can could did do does doing down during each
        few for from further had has have having he her here hers herself him himself his how
        i if in into is it its itself just may me might more most must my myself no nor not
        now of off on once only or other our ours ourselves out over own same shall she should
        so some such than that the their theirs them themselves then there these they this
        those through to too under until up very was we were what when where which while who
        whom why will with would you your yours yourself yourselves""",
    )
)


def tokens(text: str) -> list[str]:
    """Lower-case words (apostrophes and hyphens inside a word kept)."""
    return _TOKEN.findall(text.casefold())


def stem(word: str) -> str:
    """A light suffix stripper, so "transports" meets "transport" and "cells" meets "cell"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_words(text: str) -> list[str]:
    """The words of `text` that are not stop words."""
    return [word for word in tokens(text) if word not in STOP_WORDS]
