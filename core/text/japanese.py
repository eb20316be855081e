"""Japanese terms with janome (IPA dictionary).

* keeps nouns (common, proper, verbal ``サ変接続``, adjectival ``形容動詞語幹``, adverbial),
  independent verbs and adjectives, all in dictionary form (面し -> 面す, 多く -> 多い);
* joins compound nouns: contiguous content nouns plus their suffixes and prefixes
  (段ボール + 箱 -> 段ボール箱, 信号 + 機 -> 信号機, 駐車 + 場 -> 駐車場), like janome's
  ``CompoundNounFilter`` but never across numbers, pronouns, non-independent nouns or
  punctuation (店舗: -> 店舗);
* keeps the names of :mod:`core.text.phrases` whole (ケリー・ブルー・テリア, 公園のベンチ);
* drops particles, auxiliaries, non-independent verbs (the いる of ている, the れる of
  される), stray suffixes and counters, numbers, symbols, single-kana noise, stop words and
  the phrases about the heatmap overlay (:mod:`core.text.overlay`).

IPADIC lacks a few verbs written with okurigana that photo descriptions use (停まる, 駐まる):
janome splits them (停まっている -> 停る + まつ). :data:`USER_VERBS` adds their conjugated
forms through janome's user dictionary, with the connection ids of a verb of the same class.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

from core.text.overlay import strip_overlay_ja
from core.text.phrases import JapanesePhrases

# Noun subtypes (second POS field) that carry content and may form compounds.
_CONTENT_NOUNS = {"一般", "固有名詞", "サ変接続", "形容動詞語幹", "ナイ形容詞語幹", "副詞可能"}
# Suffix subtypes that attach to a preceding noun (箱, 街, 機, 的, 区, 化 ...); counters do not.
_ATTACHING_SUFFIXES = {"一般", "形容動詞語幹", "地域", "サ変接続", "副詞可能", "人名", "特殊"}
_KEEP_POS = {"動詞": "自立", "形容詞": "自立"}
# Leading parts of a compound that only say "in the picture" (画像左側 -> 左側).
_META_PREFIXES = {"画像", "写真", "ヒートマップ"}

_KANA_ONLY_1 = re.compile(r"^[\u3040-\u30ffー]$")
_NUMBERLIKE = re.compile(r"^[\d０-９.,，．%％\-+]+$|^[一二三四五六七八九十百千万億兆〇]+$")
_SYMBOLS_ONLY = re.compile(r"^[\W_]+$")

#: Verbs janome splits, as (dictionary form, reading): godan-ra verbs in -まる like 止まる.
USER_VERBS: tuple[tuple[str, str], ...] = (("停まる", "トマル"), ("駐まる", "トマル"))
# 五段・ラ行 conjugations: (form, ending replacing る, connection id of 止まる's entry in IPADIC).
_GODAN_RA = (
    ("基本形", "る", 772),
    ("未然形", "ら", 780),
    ("未然ウ接続", "ろ", 778),
    ("連用形", "り", 788),
    ("連用タ接続", "っ", 786),
    ("仮定形", "れ", 768),
    ("命令ｅ", "れ", 784),
    ("体言接続特殊", "ん", 774),
)

_tokenizer: Any = None  # janome Tokenizer, one per process


def user_dictionary_csv() -> str:
    """The IPADIC-format user dictionary for :data:`USER_VERBS`."""
    lines = []
    for base, reading in USER_VERBS:
        for form, ending, conn in _GODAN_RA:
            surface, kana = base[:-1] + ending, reading[:-1] + _kana(ending)
            lines.append(
                f"{surface},{conn},{conn},5500,動詞,自立,*,*,五段・ラ行,{form},{base},{kana},{kana}"
            )
    return "\n".join(lines) + "\n"


def _kana(hiragana: str) -> str:
    return "".join(chr(ord(c) + 0x60) for c in hiragana)


def janome() -> Any:
    """The process's janome Tokenizer (built once, about a second) with the user verbs."""
    global _tokenizer
    if _tokenizer is None:
        from janome.tokenizer import Tokenizer

        fd, path = tempfile.mkstemp(suffix=".csv", prefix="wordcam-udic-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(user_dictionary_csv())
            _tokenizer = Tokenizer(path, udic_enc="utf8")
        finally:
            os.unlink(path)
    return _tokenizer


def _is_noise(word: str) -> bool:
    return (
        not word
        or _KANA_ONLY_1.match(word) is not None
        or _NUMBERLIKE.match(word) is not None
        or _SYMBOLS_ONLY.match(word) is not None
    )


def janome_terms(text: str, stop: frozenset[str] | set[str]) -> list[str]:
    """Content words of a Japanese text in dictionary form, compounds joined (no names, no
    overlay removal: see :func:`tokenize_ja`)."""
    words: list[str] = []
    compound: list[str] = []  # surface forms of the noun compound being built
    plain: list[bool] = []  # whether each part is a plain noun (一般), not a suffix/prefix...
    compound_has_head = False  # holds a content noun, not only prefixes/suffixes

    def flush() -> None:
        nonlocal compound_has_head
        # 画像 + 左側 -> 左側 (but 写真 + 館 stays 写真館, 画像 + 処理 stays 画像処理)
        while len(compound) > 1 and compound[0] in _META_PREFIXES and plain[1]:
            del compound[0], plain[0]
        # a compound made only of stop words (画像 + 全体) is a stop word too
        if compound and compound_has_head and not all(part in stop for part in compound):
            words.append("".join(compound))
        compound.clear()
        plain.clear()
        compound_has_head = False

    for token in janome().tokenize(text):
        pos = token.part_of_speech.split(",")
        major, minor = pos[0], pos[1]
        if major == "名詞" and minor in _CONTENT_NOUNS:
            compound.append(token.surface)
            plain.append(minor == "一般")
            compound_has_head = True
            continue
        if (
            major == "名詞"
            and minor == "接尾"
            and compound_has_head
            and pos[2] in _ATTACHING_SUFFIXES
        ):
            compound.append(token.surface)
            plain.append(False)
            continue
        if major == "接頭詞" and minor == "名詞接続":
            flush()
            compound.append(token.surface)  # joins the next noun, dropped if none follows
            plain.append(False)
            continue
        flush()
        if _KEEP_POS.get(major) == minor:
            words.append(token.base_form if token.base_form != "*" else token.surface)
    flush()
    return [w for w in words if w not in stop and not _is_noise(w)]


def is_split(name: str) -> bool:
    """Whether janome would not keep ``name`` as one term."""
    return janome_terms(name, frozenset()) != [name]


def tokenize_ja(text: str, stop: frozenset[str] | set[str], phrases: JapanesePhrases) -> list[str]:
    """Terms of a Japanese text (NFKC-normalized) in order, repeats kept."""
    terms: list[str] = []
    for segment, name in phrases.split(strip_overlay_ja(text)):
        if name is None:
            terms.extend(janome_terms(segment, stop))
        elif name not in stop:
            terms.append(name)
    return terms
