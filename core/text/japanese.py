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
janome splits them (停まっている -> 停る + まつ); :func:`_janome_tokens` puts them back together
(tested fix-up: a janome user dictionary does it too, but slows every text by about 8%).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

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

#: Kanji whose -まる verb janome splits, as kanji -> dictionary form.
SPLIT_VERBS: dict[str, str] = {"停": "停まる", "駐": "駐まる"}
# What janome leaves of the ending after the kanji: まっ, まり, まる, まれ, まろ, or ま + ら/ろ...
_VERB_TAILS = ("ら", "り", "る", "れ", "ろ", "っ", "ん")

_tokenizer: Any = None  # janome Tokenizer, one per process


def janome() -> Any:
    """The process's janome Tokenizer (built once: about a second)."""
    global _tokenizer
    if _tokenizer is None:
        from janome.tokenizer import Tokenizer

        _tokenizer = Tokenizer()
    return _tokenizer


class _Verb(NamedTuple):
    """A joined verb, shaped like a janome token."""

    surface: str
    base_form: str
    part_of_speech: str = "動詞,自立,*,*"


def _janome_tokens(text: str) -> list[Any]:
    """janome's tokens of ``text`` with split verbs joined: 停 + まっ -> 停まる."""
    tokens = list(janome().tokenize(text))
    if not any(k + "ま" in text for k in SPLIT_VERBS):
        return tokens
    out: list[Any] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        after = tokens[i + 1].surface if i + 1 < len(tokens) else ""
        verb = SPLIT_VERBS.get(token.surface)
        if verb is None or not after.startswith("ま") or len(after) > 2:
            out.append(token)
            i += 1
            continue
        i += 2
        if after == "ま" and i < len(tokens) and tokens[i].surface[:1] in _VERB_TAILS:
            i += 1  # 停 + ま + ら + ない, 停 + ま + ろう
        out.append(_Verb(token.surface + after, verb))
    return out


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

    for token in _janome_tokens(text):
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
    """Whether janome would not keep ``name`` as one term in a sentence (ゆりかご alone is
    whole, but ここにゆりかごがある gives ゆる + かご)."""
    return janome_terms(f"ここに{name}がある", frozenset()) != [name, "ある"]


def tokenize_ja(text: str, stop: frozenset[str] | set[str], phrases: JapanesePhrases) -> list[str]:
    """Terms of a Japanese text (NFKC-normalized) in order, repeats kept."""
    terms: list[str] = []
    for segment, name in phrases.split(strip_overlay_ja(text)):
        if name is None:
            terms.extend(janome_terms(segment, stop))
        elif name not in stop:
            terms.append(name)
    return terms
