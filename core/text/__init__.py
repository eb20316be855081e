"""Tokenization of explanations into content words (Japanese with janome, English by rules).

Japanese (janome, IPA dictionary):

* keeps nouns (common, proper, verbal ``サ変接続``, adjectival ``形容動詞語幹``, adverbial),
  independent verbs and adjectives, all in dictionary form (面し -> 面す, 多く -> 多い);
* joins compound nouns: contiguous content nouns plus their suffixes and prefixes
  (段ボール + 箱 -> 段ボール箱, 信号 + 機 -> 信号機, 駐車 + 場 -> 駐車場), like janome's
  ``CompoundNounFilter`` but never across numbers, pronouns or non-independent nouns;
* drops particles, auxiliaries, non-independent verbs (the いる of ている, the れる of
  される), stray suffixes and counters, numbers, symbols, single-kana noise and the stop
  words of :data:`STOPWORDS_JA`.

English: lowercase words, possessives removed, a compact rule-based lemmatizer with an
irregular-forms table (buildings -> building, parked -> park, running -> run, children ->
child), scikit-learn's English stop words (less a few that name things in photos: fire, top,
front, side... see :data:`CONTENT_WORDS_EN`) plus :data:`EXTRA_STOPWORDS_EN`.

The stop lists hold function-like words and words about the explanation itself (画像, 領域,
注目, 判断, "image", "region"...) that every explanation uses whatever the class; callers
add their own with ``stopwords=``.

janome builds its dictionary once per process (about a second): the tokenizer is cached at
module level, and :func:`tokenize_many` keeps a small persistent process pool whose workers
each hold their own tokenizer.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

LANGS = ("ja", "en")


def _wordset(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


#: Japanese stop words (dictionary forms), applied after tokenization.
STOPWORDS_JA: frozenset[str] = _wordset(
    """
    する ある いる なる れる られる せる させる おる できる いう 言う 思う 考える 見える 見る
    写る 映る 示す 感じる 行う 持つ 含む 受ける 得る ない よい 良い いい
    こと もの よう ため ところ とき 時 ほう 方 等 など 他 ほか 中 上 下 前 後 横 間 内 外
    画像 写真 領域 部分 箇所 場所 様子 特徴 特徴的 注目 判断 根拠 可能 可能性 場合 全体
    全体的 印象 要素 情報 確認 存在 複数 一部 多数 周囲 モデル 分類 予測 ヒートマップ 注視
    反応 強調 影響 対象 結果 理由 主 主に 非常 程度 傾向 関係 熱 占める 一つ 二つ 三つ
    たくさん いくつ
    """
)

#: Words about the explanation itself, added to scikit-learn's English stop words.
EXTRA_STOPWORDS_EN: frozenset[str] = _wordset(
    """
    image photo photograph picture region area part model heatmap highlight focus attention
    feature prediction predict classify classification appear visible show see look suggest
    indicate likely seem contain include like heat hold concentrate recognisable recognizable
    clearly
    """
)

#: Words of scikit-learn's English stop list that name things in photos: kept as content.
CONTENT_WORDS_EN: frozenset[str] = _wordset(
    """
    fire mill bill top bottom front back side thick thin full empty system interest
    """
)

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

_tokenizer: Any = None  # janome Tokenizer, one per process
_pool: ProcessPoolExecutor | None = None
_pool_workers = 0
_pool_pid = 0

# Inputs shorter than this are tokenized in-process: a pool does not pay for itself.
POOL_MIN_TEXTS = 64


def _janome() -> Any:
    global _tokenizer
    if _tokenizer is None:
        from janome.tokenizer import Tokenizer

        _tokenizer = Tokenizer()
    return _tokenizer


def _is_noise(word: str) -> bool:
    return (
        not word
        or _KANA_ONLY_1.match(word) is not None
        or _NUMBERLIKE.match(word) is not None
        or _SYMBOLS_ONLY.match(word) is not None
    )


def _tokenize_ja(text: str, stop: frozenset[str] | set[str]) -> list[str]:
    """Content words of a Japanese text in dictionary form, compounds joined."""
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

    for token in _janome().tokenize(text):
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


# ---------------------------------------------------------------------------------------------
# English


_EN_WORD = re.compile(r"[a-z]+(?:['’][a-z]+)*")

_IRREGULAR_EN: dict[str, str] = {
    # nouns
    "children": "child",
    "men": "man",
    "women": "woman",
    "people": "person",
    "feet": "foot",
    "teeth": "tooth",
    "mice": "mouse",
    "geese": "goose",
    "leaves": "leaf",
    "knives": "knife",
    "lives": "life",
    "wives": "wife",
    "shelves": "shelf",
    "wolves": "wolf",
    "halves": "half",
    "calves": "calf",
    "loaves": "loaf",
    "thieves": "thief",
    "scarves": "scarf",
    "buses": "bus",
    "gases": "gas",
    "shoes": "shoe",
    "canoes": "canoe",
    "toes": "toe",
    "data": "data",
    "criteria": "criterion",
    "phenomena": "phenomenon",
    "cacti": "cactus",
    "fungi": "fungus",
    "indices": "index",
    "vertices": "vertex",
    "axes": "axis",
    "analyses": "analysis",
    "bases": "base",
    "oases": "oasis",
    "dice": "die",
    # verbs
    "is": "be",
    "are": "be",
    "was": "be",
    "were": "be",
    "been": "be",
    "being": "be",
    "am": "be",
    "has": "have",
    "had": "have",
    "having": "have",
    "does": "do",
    "did": "do",
    "done": "do",
    "went": "go",
    "gone": "go",
    "goes": "go",
    "saw": "see",
    "seen": "see",
    "made": "make",
    "took": "take",
    "taken": "take",
    "ran": "run",
    "sat": "sit",
    "stood": "stand",
    "built": "build",
    "held": "hold",
    "found": "find",
    "shown": "show",
    "drawn": "draw",
    "drew": "draw",
    "grown": "grow",
    "grew": "grow",
    "worn": "wear",
    "wore": "wear",
    "hung": "hang",
    "caught": "catch",
    "brought": "bring",
    "bought": "buy",
    "thought": "think",
    "told": "tell",
    "said": "say",
    "got": "get",
    "gotten": "get",
    "gave": "give",
    "given": "give",
    "came": "come",
    "became": "become",
    "began": "begin",
    "begun": "begin",
    "broke": "break",
    "broken": "break",
    "chose": "choose",
    "chosen": "choose",
    "drove": "drive",
    "driven": "drive",
    "ate": "eat",
    "eaten": "eat",
    "fell": "fall",
    "fallen": "fall",
    "flew": "fly",
    "flown": "fly",
    "froze": "freeze",
    "frozen": "freeze",
    "hid": "hide",
    "hidden": "hide",
    "kept": "keep",
    "knew": "know",
    "known": "know",
    "led": "lead",
    "lit": "light",
    "lost": "lose",
    "meant": "mean",
    "met": "meet",
    "paid": "pay",
    "rode": "ride",
    "ridden": "ride",
    "rose": "rise",
    "risen": "rise",
    "sold": "sell",
    "sent": "send",
    "shot": "shoot",
    "spent": "spend",
    "stuck": "stick",
    "swam": "swim",
    "taught": "teach",
    "threw": "throw",
    "thrown": "throw",
    "understood": "understand",
    "woke": "wake",
    "won": "win",
    "wrote": "write",
    "written": "write",
    "used": "use",
    "lying": "lie",
    "dying": "die",
    "tying": "tie",
    "spread": "spread",
    "slept": "sleep",
    "swept": "sweep",
    "felt": "feel",
    "dug": "dig",
    "bent": "bend",
    "lent": "lend",
    "struck": "strike",
    "shone": "shine",
    "seated": "seat",
    # adjectives
    "better": "good",
    "best": "good",
    "worse": "bad",
    "worst": "bad",
}

# Words the suffix rules must leave alone (nouns in -ing/-ed/-s, words ending in -ss/-us...).
_KEEP_EN: frozenset[str] = _wordset(
    """
    building ceiling clothing morning evening ring king thing string spring wing sibling
    railing awning painting drawing crossing parking ending landing opening meeting housing
    lighting marking setting wedding pudding during nothing something anything everything
    sling swing sing bring sting ping thing ceiling shopping dining living scaffolding
    railing siding paving fencing bedding lodging wiring plumbing roofing flooring
    hundred sacred naked wicked beloved crooked rugged ragged jagged wretched bed shed red
    need speed seed feed weed breed bleed steed tweed reed
    news series species physics lens always various famous across less process address
    business class dress press cross boss moss chess canvas atlas basis thesis status
    campus cactus octopus virus plus thus us yes bus gas glass grass mass pass bias iris
    tennis christmas perhaps towards upstairs downstairs outdoors indoors sometimes
    analysis axis chaos this his its hers ours yours whereas
    """
)

_VOWELS = set("aeiou")


def _measure(stem: str) -> int:
    """Porter's measure m: the number of vowel-consonant sequences in ``stem``."""
    pattern = "".join(
        "v" if c in _VOWELS or (c == "y" and i > 0) else "c" for i, c in enumerate(stem)
    )
    return len(re.findall(r"v+c+", pattern))


def _cvc(stem: str) -> bool:
    """Ends consonant-vowel-consonant, the last not w, x or y (hop, mak, driv)."""
    if len(stem) < 3:
        return False
    a, b, c = stem[-3], stem[-2], stem[-1]
    return a not in _VOWELS and b in _VOWELS and c not in _VOWELS and c not in "wxy"


def _fix_stem(stem: str) -> str:
    """Restore a stem after removing -ed/-ing (Porter step 1b): runn -> run, mak -> make."""
    if stem.endswith(("at", "bl", "iz")):
        return stem + "e"
    if len(stem) >= 2 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS | set("lsz"):
        return stem[:-1]
    if _measure(stem) == 1 and _cvc(stem):
        return stem + "e"
    return stem


def lemmatize_en(word: str) -> str:
    """Dictionary form of a lowercase English word by rules plus an irregular-forms table."""
    if word in _IRREGULAR_EN:
        return _IRREGULAR_EN[word]
    if word in _KEEP_EN or len(word) <= 3:
        return word
    if word.endswith("ies"):
        return word[:-3] + ("y" if len(word) > 4 else "ie")
    if word.endswith("ied") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("oes"):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if word.endswith("eed"):
        return word
    for suffix in ("ing", "ed"):
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            if len(stem) >= 2 and any(c in _VOWELS or c == "y" for c in stem):
                return _fix_stem(stem)
            return word
    return word


_en_stop: frozenset[str] | None = None


def english_stopwords() -> frozenset[str]:
    """scikit-learn's English stop words, less :data:`CONTENT_WORDS_EN` (fire engine, top,
    front...), plus :data:`EXTRA_STOPWORDS_EN`."""
    global _en_stop
    if _en_stop is None:
        from sklearn.feature_extraction._stop_words import ENGLISH_STOP_WORDS

        _en_stop = (frozenset(ENGLISH_STOP_WORDS) - CONTENT_WORDS_EN) | EXTRA_STOPWORDS_EN
    return _en_stop


def _tokenize_en(text: str, stop: frozenset[str] | set[str]) -> list[str]:
    words = []
    for match in _EN_WORD.finditer(text.lower()):
        word = re.sub(r"['’]s$", "", match.group()).replace("’", "'")
        if word in stop or len(word) < 2 or "'" in word:
            continue
        lemma = lemmatize_en(word)
        if lemma not in stop and len(lemma) >= 2:
            words.append(lemma)
    return words


# ---------------------------------------------------------------------------------------------
# Public API


def stopword_set(lang: str, stopwords: Iterable[str] = ()) -> frozenset[str]:
    """The default stop words of ``lang`` plus ``stopwords``."""
    _check_lang(lang)
    base = STOPWORDS_JA if lang == "ja" else english_stopwords()
    extra = {_normalize(w).strip() for w in stopwords}
    if lang == "en":
        extra = {w.lower() for w in extra} | {lemmatize_en(w.lower()) for w in extra}
    return base | frozenset(w for w in extra if w)


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        from core.errors import DataError

        raise DataError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def tokenize(text: str, lang: str = "ja", stopwords: Iterable[str] = ()) -> list[str]:
    """Content words of ``text`` in dictionary form, in order (repeats kept).

    ``stopwords`` are removed in addition to the language's default stop list.
    """
    stop = stopword_set(lang, stopwords)
    return _tokenize_with(_normalize(text), lang, stop)


def _tokenize_with(text: str, lang: str, stop: frozenset[str]) -> list[str]:
    if not text.strip():
        return []
    return _tokenize_ja(text, stop) if lang == "ja" else _tokenize_en(text, stop)


def _tokenize_chunk(args: tuple[list[str], str, frozenset[str]]) -> list[list[str]]:
    texts, lang, stop = args
    return [_tokenize_with(_normalize(t), lang, stop) for t in texts]


def _get_pool(workers: int) -> ProcessPoolExecutor:
    """A persistent pool (workers keep their janome tokenizer between calls)."""
    global _pool, _pool_workers, _pool_pid
    if _pool is not None and _pool_workers == workers and _pool_pid == os.getpid():
        return _pool
    _shutdown_pool()
    # On Linux, fork is fast and the workers inherit the ready tokenizer (they only run janome,
    # so a parent that loaded torch is fine, as with torch's own DataLoader workers). Elsewhere
    # fork is unsafe (macOS) or missing: spawn, which needs a `__main__` guard in scripts.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))
    _pool_workers, _pool_pid = workers, os.getpid()
    return _pool


def _shutdown_pool() -> None:
    global _pool, _pool_workers
    if _pool is not None and _pool_pid == os.getpid():  # a forked child does not own it
        _pool.shutdown(wait=True, cancel_futures=True)
    _pool, _pool_workers = None, 0


atexit.register(_shutdown_pool)


def tokenize_many(
    texts: Sequence[str], lang: str = "ja", stopwords: Iterable[str] = (), workers: int = 2
) -> list[list[str]]:
    """:func:`tokenize` for many texts, in order; uses ``workers`` processes for large inputs.

    Small inputs (fewer than :data:`POOL_MIN_TEXTS`) or ``workers <= 1`` run in-process.
    """
    stop = stopword_set(lang, stopwords)
    texts = [t or "" for t in texts]
    workers = max(1, min(workers, os.cpu_count() or 1))
    if workers == 1 or len(texts) < POOL_MIN_TEXTS:
        return _tokenize_chunk((texts, lang, stop))
    if lang == "ja":
        _janome()  # build the dictionary once here; forked workers inherit it
    size = max(8, min(256, len(texts) // (workers * 8) or 1))
    chunks = [(texts[i : i + size], lang, stop) for i in range(0, len(texts), size)]
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
        return _tokenize_chunk((texts, lang, stop))
    return [tokens for chunk in results for tokens in chunk]
