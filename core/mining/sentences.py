"""Examples: the documents containing a word, each with the sentence around it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import DataError
from core.mining.corpus import Corpus, find_word


@dataclass
class Example:
    """A document containing a word, with the sentence around it."""

    doc_id: str
    image_id: int | None
    path: str | None
    label: str | None
    true_label: str | None
    pred_label: str | None
    sentence: str
    text: str
    #: The model's probability of its predicted label (``None`` where the source has none).
    pred_prob: float | None = None


_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\.)\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentences of a Japanese or English text (split after 。！？!? and '. ', and at newlines)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _sentence_with(text: str, word: str, lang: str) -> str:
    sentences = split_sentences(text)
    hits = [s for s in sentences if word in s]
    if not hits and word:
        from core.text import tokenize

        hits = [s for s in sentences if word in tokenize(s, lang=lang)]
    return " ".join(hits) if hits else text


def examples(corpus: Corpus, word: str, cls: str | None = None, limit: int = 20) -> list[Example]:
    """Documents whose tokens contain ``word`` (optionally of class ``cls``), the model's most
    confident first (then corpus order; documents without a probability last)."""
    if cls is not None and cls not in corpus.classes:
        raise DataError(f"unknown class {cls!r}; the classes are {', '.join(corpus.classes)}")
    term = find_word(corpus, word)
    if term is None:
        return []
    lemma = str(corpus.vocab[term])
    probs = corpus.pred_probs or [None] * len(corpus)
    docs = [d for d in corpus.docs_with(term) if cls is None or corpus.labels[d] == cls]
    docs.sort(key=lambda d: (probs[d] is None, -(probs[d] or 0.0)))
    out: list[Example] = []
    for d in map(int, docs[:limit]):
        text = corpus.texts[d]
        out.append(
            Example(
                doc_id=corpus.doc_ids[d],
                image_id=corpus.image_ids[d],
                path=corpus.paths[d],
                label=corpus.labels[d],
                true_label=corpus.true_labels[d],
                pred_label=corpus.pred_labels[d],
                sentence=_sentence_with(text, word if word in text else lemma, corpus.lang),
                text=text,
                pred_prob=probs[d],
            )
        )
    return out
