"""Synthetic Japanese explanations for tests and benchmarks (the text twin of :mod:`core.lab.synth`).

Two families, each reproducing a corpus that published numbers were measured on:

- street sentences from a :class:`Grammar` (a template with place, adjective and verb slots
  around two nouns): :data:`TOKENIZE_GRAMMAR` for the tokenizer benchmark's ~220-character
  texts (:func:`make_texts`), :data:`MINE_GRAMMAR` for the mining benchmark's sentence pool;
- ward explanations (:func:`ward_explanation`): the dashboard's synthetic DB, whose words
  depend on the photo's predicted (mostly) or true ward.

Deterministic for a given random generator; standard library only (the ward family takes a
numpy generator, as its DB does).
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

STREET_NOUNS = (
    "建物", "道路", "歩道", "電柱", "街路樹", "自動車", "信号機", "ベンチ", "空", "公園",
    "石畳", "階段", "窓", "屋根", "自転車", "ガードレール", "標識", "駐車場", "マンション",
    "店舗", "植え込み", "横断歩道", "バス停", "電線", "フェンス", "商店街", "住宅", "橋", "川",
    "雲",
)  # fmt: skip
PLACES = ("手前に", "奥に", "左側に", "右側に", "中央に", "上部に", "下部に")
VERBS = ("並んでいる", "続いている", "設置されている", "写っている", "広がっている", "立っている")
#: Slots: ``{place}``, ``{adj}``, ``{verb}`` from the grammar's lists, ``{a}``/``{b}`` two nouns.
SENTENCE_TEMPLATES = (
    "{place}{adj}{a}と{b}が{verb}。",
    "{a}の近くに{b}があり、{adj}印象を与えている。",
    "{place}{a}が{verb}ことから、{b}の周辺と考えられる。",
)


def _adjectives(big: str) -> tuple[str, ...]:
    return ("古い", "新しい", big, "白い", "高い", "広い", "狭い", "明るい", "暗い", "赤い")


@dataclass(frozen=True)
class Grammar:
    """Street sentences: a template's slots filled from these lists (drawn with ``random``).

    ``eager``: every template's slots are drawn before one template is picked (the order the
    tokenizer benchmark's corpus was drawn in); otherwise only the picked template's are.
    """

    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    verbs: tuple[str, ...] = VERBS
    places: tuple[str, ...] = PLACES
    templates: tuple[str, ...] = SENTENCE_TEMPLATES
    eager: bool = False

    def sentence(self, rng: random.Random, words: Sequence[str] | None = None) -> str:
        """One sentence about two distinct words of ``words`` (default: the grammar's nouns)."""
        a, b = rng.sample(list(words or self.nouns), 2)
        if self.eager:
            return rng.choice([self._fill(t, rng, a, b) for t in self.templates])
        return self._fill(self.templates[rng.randrange(len(self.templates))], rng, a, b)

    def sentences(self, rng: random.Random, count: int, words: Sequence[str] | None = None):
        """``count`` sentences (a list) about ``words``."""
        return [self.sentence(rng, words) for _ in range(count)]

    def text(self, rng: random.Random, chars: int) -> str:
        """Sentences joined until the text is at least ``chars - 12`` characters long."""
        parts: list[str] = []
        while sum(map(len, parts)) < chars - 12:
            parts.append(self.sentence(rng))
        return "".join(parts)

    def _fill(self, template: str, rng: random.Random, a: str, b: str) -> str:
        lists = {"place": self.places, "adj": self.adjectives, "verb": self.verbs}
        values = {"a": a, "b": b}
        for _, slot, _, _ in string.Formatter().parse(template):
            if slot in lists:  # drawn in the order the slots appear
                values[slot] = rng.choice(lists[slot])
        return template.format(**values)


#: benchmarks/bench_tokenize.py: 38 nouns, 10 adjectives, 8 verbs, drawn eagerly.
TOKENIZE_GRAMMAR = Grammar(
    nouns=(*STREET_NOUNS, "看板", "倉庫", "交差点", "タワー", "市場", "皇居", "運河", "高層ビル"),
    adjectives=_adjectives("大きな"),
    verbs=(*VERBS, "密集している", "面している"),
    eager=True,
)
#: benchmarks/bench_mine.py: 38 nouns, 10 adjectives, 6 verbs.
MINE_GRAMMAR = Grammar(
    nouns=(*STREET_NOUNS, "車道", "看板広告", "ビル群", "照明", "壁面", "タイル", "柵", "門"),
    adjectives=_adjectives("大きい"),
)


def make_texts(
    count: int = 2000, chars: int = 220, seed: int = 0, grammar: Grammar = TOKENIZE_GRAMMAR
) -> list[str]:
    """``count`` synthetic Japanese explanations of about ``chars`` characters each."""
    rng = random.Random(seed)
    return [grammar.text(rng, chars) for _ in range(count)]


# ------------------------------------------------------------------ ward explanations

WARD_WORDS: dict[str, list[str]] = {
    "千代田区": ["皇居", "石垣", "堀", "官庁", "高層ビル", "緑"],
    "中央区": ["銀座", "看板", "百貨店", "高層ビル", "橋", "群"],
    "港区": ["東京タワー", "高層ビル", "ガラス", "海", "運河", "群"],
    "新宿区": ["高層ビル", "群", "雑踏", "看板", "ネオン", "密集"],
    "台東区": ["寺", "提灯", "瓦屋根", "商店街", "密集", "看板"],
    "墨田区": ["スカイツリー", "川", "橋", "住宅", "密集", "電柱"],
    "江東区": ["運河", "倉庫", "団地", "橋", "緑", "ガードレール"],
    "世田谷区": ["住宅", "緑", "電柱", "ガードレール", "坂", "密集"],
}
WARD_SHARED_WORDS = ["道路", "空", "歩道", "人", "車", "建物", "窓", "影"]
WARD_POSITIONS = ["上部中央", "左下", "右上", "中央", "下部", "左上"]
WARD_TEMPLATES = [
    "{pos}の{a}が最も強く反応しており、{b}と{c}も判断の根拠になっている。",
    "{a}と{b}が目立つ。{pos}に{c}が写っている。",
    "画面{pos}に{a}があり、周囲の{b}や{c}が特徴的である。",
]


def ward_vocabulary(classes: Sequence[str], rng: np.random.Generator) -> dict[str, list[str]]:
    """Six words per class: :data:`WARD_WORDS`'s, or six drawn from their pool for others."""
    pool = sorted({w for words in WARD_WORDS.values() for w in words})
    return {c: WARD_WORDS.get(c) or list(rng.choice(pool, size=6, replace=False)) for c in classes}


def ward_explanation(
    rng: np.random.Generator,
    index: int,
    predicted: Sequence[str],
    true: Sequence[str],
    predicted_share: float = 0.8,
) -> tuple[str, list[str]]:
    """The ``index``-th photo's explanation and its tokens (position and the three words).

    It describes what the model looked at: two words of the predicted class's vocabulary
    (``predicted_share`` of the time; else the true class's) and one shared word. Templates and
    positions cycle with ``index``.
    """
    source = predicted if rng.random() < predicted_share else true
    words = list(rng.choice(source, size=2, replace=False)) + [str(rng.choice(WARD_SHARED_WORDS))]
    pos = WARD_POSITIONS[index % len(WARD_POSITIONS)]
    template = WARD_TEMPLATES[index % len(WARD_TEMPLATES)]
    return template.format(pos=pos, a=words[0], b=words[1], c=words[2]), [pos, *words]
