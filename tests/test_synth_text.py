"""The one synthetic-text generator keeps the corpora the README's benchmarks were measured on."""

from __future__ import annotations

import hashlib
import random

from core.lab.synth_text import MINE_GRAMMAR, TOKENIZE_GRAMMAR, make_texts


def digest(texts: list[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]


def test_benchmark_corpora_are_pinned():
    # Digests of the corpora the benchmarks generated before they shared this module.
    texts = make_texts(2000)
    assert digest(texts) == "daf55dddad988f13"
    assert len(set(texts)) == 2000 and 215 <= sum(map(len, texts)) / len(texts) <= 225
    assert digest(MINE_GRAMMAR.sentences(random.Random(0), 300)) == "989902f1bb63dae6"
    sizes = [
        (len(g.nouns), len(g.adjectives), len(g.verbs)) for g in (TOKENIZE_GRAMMAR, MINE_GRAMMAR)
    ]
    assert sizes == [(38, 10, 8), (38, 10, 6)]


def test_sentences_use_the_given_words():
    words = ["運河", "倉庫"]
    for sentence in MINE_GRAMMAR.sentences(random.Random(1), 20, words):
        assert "運河" in sentence and "倉庫" in sentence and sentence.endswith("。")
