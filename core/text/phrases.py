"""Multiword names kept as one term: the ImageNet names plus the labels of the model explained.

English: a word-level trie over lowercased words (``trench coat``, ``kerry blue terrier``),
longest match first, the last word matched in any inflection (``trench coats`` ->
``trench coat``); only names of two or more words need it (one-word and hyphenated names are
single words already). Japanese: a character-trie regex over the names that janome would
split (ケリー・ブルー・テリア, also written without ・; 公園のベンチ), not matched inside a longer
run of kanji or katakana (自動車のミラー stays 自動車 + ミラー).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources

_LABEL_FILES = {"en": "imagenet_labels_en.txt", "ja": "imagenet_labels_ja.txt"}


@lru_cache(maxsize=2)
def imagenet_names(lang: str) -> tuple[str, ...]:
    """The 1,000 ImageNet class names of ``lang`` (NFKC), in class order."""
    text = resources.files("core.models").joinpath(_LABEL_FILES[lang]).read_text("utf-8")
    return tuple(
        unicodedata.normalize("NFKC", line.strip()) for line in text.splitlines() if line.strip()
    )


def _clean(name: str, lang: str) -> str:
    name = unicodedata.normalize("NFKC", name).strip().replace("_", " ")
    name = re.sub(r"\s+", " ", name)
    return name.lower() if lang == "en" else name


class EnglishPhrases:
    """Word-level trie of multiword English names; see :meth:`match`."""

    def __init__(self, names: Iterable[str], words_of: Callable[[str], list[str]]) -> None:
        self._root: dict[str, dict] = {}
        for name in names:
            words = words_of(name)
            if len(words) < 2:
                continue
            node = self._root
            for word in words:
                node = node.setdefault(word, {})
            node.setdefault("", name)  # "" is never a word: it marks the end of a name

    def match(
        self, words: list[str], start: int, singular: Callable[[str], str]
    ) -> tuple[int, str] | None:
        """``(end, name)`` of the longest name starting at ``words[start]``, or ``None``.

        Every word but the last must match exactly; the last may be inflected
        (``singular(word)`` is tried too).
        """
        node, best = self._root, None
        for j in range(start, len(words)):
            word = words[j]
            if j > start:
                for form in (word, singular(word)):
                    end = node.get(form, {}).get("")
                    if end is not None:
                        best = (j + 1, end)
                        break
            node = node.get(word)
            if node is None:
                break
        return best


def _trie_regex(strings: Iterable[str]) -> str:
    """A regex matching any of ``strings``, longest first (a trie, not an alternation)."""
    trie: dict = {}
    for s in strings:
        node = trie
        for ch in s:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


_JA_RUN = r"\u30a0-\u30ffー\u3400-\u9fff々"


class JapanesePhrases:
    """Names janome would split, found by one compiled regex; see :meth:`split`."""

    def __init__(self, names: Iterable[str], is_split: Callable[[str], bool]) -> None:
        variants: dict[str, str] = {}
        for name in names:
            if not is_split(name):
                continue
            variants.setdefault(name, name)
            variants.setdefault(name.replace("・", ""), name)
        self._term = variants
        self._regex = (
            re.compile(f"(?<![{_JA_RUN}]){_trie_regex(variants)}(?![{_JA_RUN}])")
            if variants
            else None
        )

    def split(self, text: str) -> list[tuple[str, str | None]]:
        """``text`` as segments ``(text, None)`` for janome and ``(surface, name)`` for names."""
        if self._regex is None:
            return [(text, None)]
        out: list[tuple[str, str | None]] = []
        pos = 0
        for m in self._regex.finditer(text):
            if m.start() > pos:
                out.append((text[pos : m.start()], None))
            out.append((m.group(), self._term[m.group()]))
            pos = m.end()
        if pos < len(text):
            out.append((text[pos:], None))
        return out


def all_names(lang: str, phrases: Iterable[str]) -> tuple[str, ...]:
    """ImageNet names of ``lang`` plus ``phrases`` (model labels), cleaned, without repeats."""
    names = [_clean(n, lang) for n in (*imagenet_names(lang), *phrases)]
    return tuple(dict.fromkeys(n for n in names if n))
