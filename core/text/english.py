"""English terms: lemminflect lemmas, HanTa part-of-speech tags, multiword names and compounds.

* Words are letters with inner hyphens or apostrophes (``wave-shaped`` stays whole), so
  punctuation never sticks to a term; possessive ``'s`` is removed.
* Each sentence is tagged by HanTa (a hidden-Markov tagger that ships its English model on
  PyPI; results cached per sentence: template sentences repeat) and each word lemmatized by
  lemminflect for that part of speech (parked -> park, building stays a noun, running -> run).
* Only the parts of speech the Japanese side keeps become terms: nouns (common and proper),
  adjectives and lexical verbs (HanTa's ``NN*``, ``NP*``, ``AJ*``, ``VV*``). Adverbs
  (``mainly``, ``quickly``), prepositions, determiners, pronouns, conjunctions, numbers and the
  auxiliaries be/do/have never do: the tagger decides, not a word list.
* Multiword names of :mod:`core.text.phrases` are one term (``trench coats`` -> ``trench coat``).
* Runs of two or three nouns are one compound (``bicycle lane marking``, ``brick wall``): a
  colour-like modifier that can be an adjective (``red``, ``concrete``) stays its own word.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from core.text.overlay import strip_overlay_en
from core.text.phrases import EnglishPhrases

#: Words lemminflect (or the tagger) gets wrong in photo descriptions: word -> lemma, always a
#: noun. moped is read as the past of "mope"; triceratops, sunglasses lose their final s as
#: unknown plurals; leaves is listed as "leave" first; glasses and pants name one thing.
LEMMA_OVERRIDES_EN: dict[str, str] = {
    "moped": "moped",
    "mopeds": "moped",
    "triceratops": "triceratops",
    "sunglasses": "sunglasses",
    "glasses": "glasses",
    "pants": "pants",
    "leaves": "leaf",
}

_TOKEN = re.compile(r"[A-Za-z]+(?:[-'’][A-Za-z]+)*|[.!?;:\n]|[^\sA-Za-z]")
_SENTENCE_END = frozenset(".!?;:\n")
_UPOS = {"NN": "NOUN", "NP": "PROPN", "VV": "VERB", "VB": "AUX", "VD": "VERB", "VH": "VERB"}
_UPOS.update({"AJ": "ADJ", "AV": "ADV"})
_MAX_COMPOUND = 3
#: HanTa tag prefixes of the words that may become terms (nouns, adjectives, lexical verbs).
CONTENT_TAGS = ("NN", "NP", "AJ", "VV")

_tagger: Any = None


def _hanta() -> Any:
    global _tagger
    if _tagger is None:
        from HanTa import HanoverTagger

        _tagger = HanoverTagger.HanoverTagger("morphmodel_en.pgz")
    return _tagger


@lru_cache(maxsize=65536)
def _tags(words: tuple[str, ...]) -> tuple[str, ...]:
    """HanTa's tag (CLAWS-like: NN1, VVN, AJ0...) of each word of one sentence."""
    return tuple(_hanta().tag_sent(list(words), taglevel=0)) if words else ()


@lru_cache(maxsize=65536)
def lemmatize_en(word: str, upos: str | None = None) -> str:
    """Dictionary form of a lowercase English word (lemminflect), for part of speech ``upos``
    (``NOUN``, ``VERB``, ``ADJ``...) when known; without it a noun reading is preferred."""
    from lemminflect import getAllLemmas, getAllLemmasOOV, getLemma

    if word in LEMMA_OVERRIDES_EN:
        return LEMMA_OVERRIDES_EN[word]
    if "-" in word:  # a hyphenated noun inflects its last part (t-shirts); wave-shaped stays
        head, _, last = word.rpartition("-")
        found = getLemma(last, "NOUN", lemmatize_oov=False) if upos in (None, "NOUN") else ()
        return f"{head}-{found[0]}" if found else word
    if len(word) <= 2:
        return word
    if upos in ("NOUN", "VERB", "ADJ", "ADV", "AUX"):
        found = getLemma(word, upos, lemmatize_oov=False)
        if found:
            return found[0]
    readings = getAllLemmas(word)
    for pos in ("NOUN", "VERB", "ADJ", "ADV", "AUX", "PROPN"):
        if pos in readings:
            return readings[pos][0]
    if readings:
        return next(iter(readings.values()))[0]
    if upos in (None, "NOUN", "PROPN"):
        oov = getAllLemmasOOV(word, "NOUN").get("NOUN")
        if oov:
            return oov[0]
    return word


@lru_cache(maxsize=65536)
def _adjective_like(word: str) -> bool:
    """Whether lemminflect knows ``word`` as an adjective (red, concrete): not a modifier."""
    from lemminflect import getAllLemmas

    return "ADJ" in getAllLemmas(word)


def _noun(word: str) -> str:
    return lemmatize_en(word, "NOUN")


def english_words(text: str) -> list[str]:
    """Lowercase words of ``text`` (possessives removed), as the tokenizer sees them."""
    return [w for w, _ in _words(text) if w[0].isalpha()]


def _words(text: str) -> list[tuple[str, bool]]:
    """``(token, possessive)`` for each word or punctuation mark of ``text``, lowercased."""
    out = []
    for m in _TOKEN.finditer(text):
        tok = m.group().replace("’", "'")
        possessive = tok.lower().endswith("'s")
        out.append((tok[:-2] if possessive else tok, possessive))
    return out


def _sentences(tokens: list[tuple[str, bool]]) -> list[list[tuple[str, bool]]]:
    out: list[list[tuple[str, bool]]] = [[]]
    for tok in tokens:
        if tok[0] in _SENTENCE_END:
            out.append([])
        else:
            out[-1].append(tok)
    return [s for s in out if s]


class _Emitter:
    """Builds the terms of one sentence: words, multiword names, noun compounds."""

    def __init__(self, stop: frozenset[str] | set[str]) -> None:
        self.stop = stop
        self.terms: list[str] = []
        self.run: list[str] = []

    def keep(self, term: str) -> None:
        if term not in self.stop and len(term) >= 2:
            self.terms.append(term)

    def flush(self) -> None:
        if 2 <= len(self.run) <= _MAX_COMPOUND:
            self.keep(" ".join([*self.run[:-1], _noun(self.run[-1])]))
        else:
            for word in self.run:
                self.keep(_noun(word))
        self.run = []

    def noun(self, word: str) -> None:
        if self.run and _adjective_like(self.run[-1]):
            self.flush()  # "red car": red is the car's colour, not part of its name
        self.run.append(word)


def _is_stop(word: str, stop: frozenset[str] | set[str]) -> bool:
    return word in stop or len(word) < 2 or "'" in word


def tokenize_en(text: str, stop: frozenset[str] | set[str], phrases: EnglishPhrases) -> list[str]:
    """Terms of an English text (NFKC-normalized) in order, repeats kept."""
    terms: list[str] = []
    for sentence in _sentences(_words(strip_overlay_en(text))):
        surfaces = tuple(tok for tok, _ in sentence)
        tags = _tags(surfaces)
        words = [s.lower() for s in surfaces]
        out = _Emitter(stop)
        i = 0
        while i < len(words):
            match = phrases.match(words, i, _noun)
            if match is not None:
                out.flush()
                i, name = match
                out.keep(name)
                continue
            word, tag, possessive = words[i], tags[i], sentence[i][1]
            upos = "NOUN" if word in LEMMA_OVERRIDES_EN else _UPOS.get(tag[:2])
            i += 1
            if not word[0].isalpha() or _is_stop(word, stop):
                out.flush()
            elif upos != "NOUN" and not tag.startswith(CONTENT_TAGS):
                out.flush()  # an adverb or a function word: never a term
            elif upos == "NOUN" and _noun(word) not in stop:
                out.noun(word)
            elif (
                tag == "VVG"
                and len(out.run) >= 2
                and _noun(word) == word
                and _ends_phrase(words, tags, i)
            ):
                out.noun(word)  # "bicycle lane marking": a gerund closing a noun compound
            else:
                out.flush()
                out.keep(lemmatize_en(word, upos))
            if possessive:
                out.flush()  # "the shop's sign": shop and sign
        out.flush()
        terms.extend(out.terms)
    return terms


def _ends_phrase(words: list[str], tags: tuple[str, ...], i: int) -> bool:
    """Whether position ``i`` ends a noun phrase: the end, punctuation or a preposition."""
    return i >= len(words) or not words[i][0].isalpha() or tags[i] in ("PRP", "PRF", "CJC")
