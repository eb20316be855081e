"""Tokenization of explanations into terms: Japanese with janome, English with HanTa + lemminflect.

A term is a content word in dictionary form, or a multiword name kept whole: every
multiword ImageNet name and label of the model explained (``trench coat``, ``kerry blue
terrier``, ケリー・ブルー・テリア; pass the labels as ``phrases=``), a noun compound
(段ボール箱, ``bicycle lane marking``). Punctuation never sticks to a term, hyphenated words
stay whole (``wave-shaped``), and words about the heatmap overlay (GradCAM, ヒートマップ,
赤く強調, "highlighted in red") are dropped. See :mod:`core.text.japanese`,
:mod:`core.text.english`, :mod:`core.text.phrases`, :mod:`core.text.overlay`.

The stop lists (:mod:`core.text.stopwords`) hold function-like words and words about the
explanation itself (画像, 領域, 注目, 判断, "image", "region"...) that every explanation uses
whatever the class; callers add their own with ``stopwords=``.

Tokens are stored: :data:`TOKENIZER_VERSION` changes whenever the terms of a text may change,
so stored tokens of an older version can be recomputed from the stored texts.

janome builds its dictionary once per process (about a second): the tokenizer is cached at
module level, and :func:`tokenize_many` keeps a small persistent process pool whose workers
each hold their own tokenizer.
"""

from __future__ import annotations

import atexit
import logging
import os
import unicodedata
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

from core.languages import DEFAULT_LANG
from core.languages import LANGUAGES as LANGS  # the one list
from core.processes import worker_context
from core.text.english import LEMMA_OVERRIDES_EN, english_words, lemmatize_en, tokenize_en
from core.text.japanese import is_split, janome, tokenize_ja
from core.text.phrases import EnglishPhrases, JapanesePhrases, all_names, imagenet_names
from core.text.stopwords import (
    CONTENT_WORDS_EN,
    EXTRA_STOPWORDS_EN,
    STOPWORDS_JA,
    english_stopwords,
)

__all__ = [
    "CONTENT_WORDS_EN",
    "EXTRA_STOPWORDS_EN",
    "LANGS",
    "LEMMA_OVERRIDES_EN",
    "POOL_MIN_TEXTS",
    "STOPWORDS_JA",
    "TOKENIZER_VERSION",
    "english_stopwords",
    "imagenet_names",
    "lemmatize_en",
    "phrase_matcher",
    "stopword_set",
    "tokenize",
    "tokenize_many",
]


#: Version of the terms :func:`tokenize` gives; 1 was the rule-based tokenizer without
#: multiword names, 2 kept adverbs and function words the stop list missed. Bump it whenever
#: the terms of some text change.
TOKENIZER_VERSION = 3

# Inputs shorter than this are tokenized in-process: a pool does not pay for itself.
POOL_MIN_TEXTS = 64

_pool: ProcessPoolExecutor | None = None
_pool_workers = 0
_pool_pid = 0

_janome = janome  # the benchmark warms the dictionary through this name


def stopword_set(lang: str, stopwords: Iterable[str] = ()) -> frozenset[str]:
    """The default stop words of ``lang`` plus ``stopwords`` (English: also their lemmas)."""
    _check_lang(lang)
    base = STOPWORDS_JA if lang == "ja" else english_stopwords()
    extra = {_normalize(w).strip() for w in stopwords}
    if lang == "en":
        lower = {w.lower() for w in extra}
        extra = lower | {lemmatize_en(w, pos) for w in lower for pos in (None, "VERB", "ADJ")}
    return base | frozenset(w for w in extra if w)


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        from core.errors import DataError

        raise DataError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


@lru_cache(maxsize=16)
def phrase_matcher(lang: str, phrases: tuple[str, ...] = ()) -> EnglishPhrases | JapanesePhrases:
    """The matcher of the ImageNet names of ``lang`` plus ``phrases`` (built once per set)."""
    _check_lang(lang)
    names = all_names(lang, phrases)
    if lang == "en":
        return EnglishPhrases(names, english_words)
    return JapanesePhrases(names, is_split)


def tokenize(
    text: str, lang: str = DEFAULT_LANG, stopwords: Iterable[str] = (), phrases: Iterable[str] = ()
) -> list[str]:
    """Terms of ``text`` in order (repeats kept).

    ``stopwords`` are removed in addition to the language's default stop list; ``phrases``
    (the labels of the model explained) are kept whole like the ImageNet names.
    """
    stop = stopword_set(lang, stopwords)
    return _tokenize_with(_normalize(text), lang, stop, tuple(phrases))


def _tokenize_with(
    text: str, lang: str, stop: frozenset[str], phrases: tuple[str, ...]
) -> list[str]:
    if not text.strip():
        return []
    matcher = phrase_matcher(lang, phrases)
    if lang == "ja":
        return tokenize_ja(text, stop, matcher)  # type: ignore[arg-type]
    return tokenize_en(text, stop, matcher)  # type: ignore[arg-type]


def _tokenize_chunk(
    args: tuple[list[str], str, frozenset[str], tuple[str, ...]],
) -> list[list[str]]:
    texts, lang, stop, phrases = args
    return [_tokenize_with(_normalize(t), lang, stop, phrases) for t in texts]


def _get_pool(workers: int) -> ProcessPoolExecutor:
    """A persistent pool (workers keep their janome tokenizer between calls)."""
    global _pool, _pool_workers, _pool_pid
    if _pool is not None and _pool_workers == workers and _pool_pid == os.getpid():
        return _pool
    _shutdown_pool()
    # Started from a clean server, not forked from the caller (a job with DuckDB's threads),
    # unless the caller runs a script of its own (a user's, a Streamlit page): core.processes.
    # Each worker loads its own dictionary.
    _pool = ProcessPoolExecutor(max_workers=workers, mp_context=worker_context([__name__]))
    _pool_workers, _pool_pid = workers, os.getpid()
    return _pool


def _shutdown_pool() -> None:
    global _pool, _pool_workers
    if _pool is not None and _pool_pid == os.getpid():  # a forked child does not own it
        _pool.shutdown(wait=True, cancel_futures=True)
    _pool, _pool_workers = None, 0


atexit.register(_shutdown_pool)


def tokenize_many(
    texts: Sequence[str],
    lang: str = DEFAULT_LANG,
    stopwords: Iterable[str] = (),
    workers: int = 2,
    phrases: Iterable[str] = (),
) -> list[list[str]]:
    """:func:`tokenize` for many texts, in order; uses ``workers`` processes for large inputs.

    Small inputs (fewer than :data:`POOL_MIN_TEXTS`) or ``workers <= 1`` run in-process.
    """
    stop = stopword_set(lang, stopwords)
    phrases = tuple(phrases)
    texts = [t or "" for t in texts]
    workers = max(1, min(workers, os.cpu_count() or 1))
    if workers == 1 or len(texts) < POOL_MIN_TEXTS:
        return _tokenize_chunk((texts, lang, stop, phrases))
    size = max(8, min(256, len(texts) // (workers * 8) or 1))
    chunks = [(texts[i : i + size], lang, stop, phrases) for i in range(0, len(texts), size)]
    try:
        results = list(_get_pool(workers).map(_tokenize_chunk, chunks))
    except Exception as exc:  # noqa: BLE001
        # A worker died or could not start (spawn from an unguarded script, a daemonic parent
        # process...): the pool is dropped and this call finishes in-process (where a genuine
        # tokenization error raises again).
        logging.getLogger(__name__).warning(
            "tokenizer pool failed (%s); tokenizing in-process", exc
        )
        _shutdown_pool()
        return _tokenize_chunk((texts, lang, stop, phrases))
    return [tokens for chunk in results for tokens in chunk]
