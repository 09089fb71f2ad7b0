"""The hashing embedder's text features, exactly as scikit-learn's `HashingVectorizer` makes them.

Word unigrams and bigrams of the stemmed content words of the lower-cased text
(`analyzer="word", ngram_range=(1, 2)`), and character 3-5-grams of the content words within
word boundaries (`analyzer="char_wb", ngram_range=(3, 5)`), each token hashed with signed
32-bit MurmurHash3 (seed 0), as `sklearn.utils.murmurhash3_32(token, positive=False)`.

Written out here rather than taken from scikit-learn because importing scikit-learn costs about
a second of CPU at every start of sutra-hybrid; the tests check these functions against
scikit-learn's own analyzers and hash on a corpus, so the vectors stay the same.
"""

from __future__ import annotations

import itertools
import re

import mmh3

from sutra.hybrid.text import content_words, stem

_WHITE_SPACES = re.compile(r"\s\s+")


def word_tokens(text: str) -> list[str]:
    """Stemmed content words (stop words dropped)."""
    return [stem(word) for word in content_words(text)]


def content_text(text: str) -> str:
    """The content words of `text`, for word pieces of content words only."""
    return " ".join(content_words(text))


def word_ngrams(text: str) -> list[str]:
    """Unigrams, then bigrams, of the stemmed content words of the lower-cased text."""
    words = word_tokens(text.lower())
    return words + [" ".join(pair) for pair in itertools.pairwise(words)]


def char_wb_ngrams(text: str, low: int = 3, high: int = 5) -> list[str]:
    """Character n-grams of each content word padded with one space on either side; a word
    shorter than an n-gram gives itself, padded, once."""
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", content_text(text)).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[offset : offset + n])
            while offset + n < len(padded):
                offset += 1
                grams.append(padded[offset : offset + n])
            if offset == 0:  # the whole padded word: longer n-grams would repeat it
                break
    return grams


def signed_hash(token: str) -> int:
    """Signed 32-bit MurmurHash3 of the UTF-8 token, seed 0."""
    return mmh3.hash(token, 0, True)
