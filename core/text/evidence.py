"""The terms of one explanation, from what its explainer knows: each with a kind and regions.

:func:`document_terms` turns an explanation (its text and ``details``, as the explainer wrote
them and as ``explanations`` stores them) into :class:`DocumentTerms`: the terms in text order
(repeats kept), each with a kind (:data:`KINDS`) and the heat regions it was said about
(1-based ``Region.index`` values, as in ``details["regions"]``):

* ``grounded``: exact, from its details, never from its sentences. Each region's object
  candidates are ``object`` terms, its colours ``colour`` terms, its position name a
  ``position`` term, all tied to that region; the names it mentions only as a guess
  (``details["regions"][i]["hedged"]``, :attr:`core.explainers.naming.NamingRule.hedge`) are
  ``guess`` terms, which the default keyword table does not show. The templates' filler
  (mainly, upper, evidence, モデル, 領域, 注目...) therefore never becomes a term in either
  language, with no stop list.
  The terms are the words as the text writes them (English lowercased, like the tokenizer's).
* ``openai:`` structured answers (``details["objects"]``: ``{object, feature, region}``): the
  object's words are ``object`` terms, the region's position name a ``position`` term, the
  feature's words ``other`` (``object`` when a known name), and in either field the grounded
  colour names ``colour``; all tied to the region(s) the item names: a number of the marks
  image, or a position matched against the numbered regions.
* free text: tokenized (:func:`core.text.tokenize`); ``object`` when the term is a known name
  (an ImageNet name or a label of the model explained, passed as ``phrases``), else ``other``.
  With a numbered-marks image (``details["regions"]``) a sentence that names regions ("region
  2", 領域1, ①) ties its terms to them; every other term gets all described regions and
  ``localized`` false (no regions described: none, and false).

A term said in several places keeps, in :meth:`DocumentTerms.word_regions`, the union of the
regions it was localized to; only a term never localized gets all described regions with
``localized`` false.

This module reads ``details`` as plain JSON data and imports no explainer at module level, so
that re-tokenizing stored explanations (:mod:`core.jobs.terms`) uses exactly this code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from core.text import TOKENIZER_VERSION, imagenet_names, lemmatize_en, tokenize_many

#: The kinds of term, in display order. ``guess``: a name the explainer mentions only as a
#: guess (a hedged name); kept in the term matrix, not shown by default (:data:`HIDDEN_KINDS`).
KINDS = ("object", "colour", "position", "other", "guess")
#: Kinds the default keyword table leaves out unless the kind filter picks them: their words
#: still count for words -> label (docs/terms.md, "Hedged names").
HIDDEN_KINDS = ("guess",)
#: Version of the extraction below; with the tokenizer's it makes :data:`TERMS_VERSION`.
#: 2: hedged names as ``guess`` terms.
EVIDENCE_VERSION = 2
#: Stored as ``tokens.tokenizer``: ``"<tokenizer version>.<evidence version>"``. Stored token
#: rows with another value (or NULL) are re-tokenized by :mod:`core.jobs.terms`.
TERMS_VERSION = f"{TOKENIZER_VERSION}.{EVIDENCE_VERSION}"


@dataclass(frozen=True)
class Term:
    """One occurrence of a term: its kind and the regions it was said about."""

    term: str
    kind: str
    regions: tuple[int, ...] = ()
    localized: bool = False


@dataclass
class DocumentTerms:
    """The terms of one explanation, in text order (repeats kept)."""

    terms: list[Term] = field(default_factory=list)

    @property
    def tokens(self) -> list[str]:
        """The terms, as ``tokens.tokens`` stores them."""
        return [t.term for t in self.terms]

    @property
    def kinds(self) -> list[str]:
        """One kind per token, as ``tokens.kinds`` stores them."""
        return [t.kind for t in self.terms]

    def word_regions(self) -> dict[str, tuple[list[int], bool]]:
        """``{term: (regions, localized)}`` per distinct term, as ``word_regions`` stores it."""
        localized: dict[str, set[int]] = {}
        loose: dict[str, set[int]] = {}
        for t in self.terms:
            (localized if t.localized else loose).setdefault(t.term, set()).update(t.regions)
        out = {term: (sorted(regions), True) for term, regions in localized.items()}
        for term, regions in loose.items():
            out.setdefault(term, (sorted(regions), False))
        return out


def document_terms(
    text: str,
    details: Mapping[str, Any] | None,
    lang: str,
    phrases: Iterable[str] = (),
    explainer: str | None = None,
) -> DocumentTerms:
    """The terms of one explanation (see the module docstring); ``explainer`` is its spec."""
    return documents_terms([(text, details, explainer)], lang, phrases)[0]


Document = tuple[str | None, Mapping[str, Any] | None, str | None]  # (text, details, explainer)


def documents_terms(
    docs: Sequence[Document], lang: str, phrases: Iterable[str] = (), workers: int = 1
) -> list[DocumentTerms]:
    """:func:`document_terms` for many explanations; free texts are tokenized together."""
    phrases = tuple(phrases)
    out: dict[int, DocumentTerms] = {}
    free: dict[int, tuple[str, tuple[int, ...]]] = {}
    for i, (text, details, explainer) in enumerate(docs):
        details = details or {}
        if not (text or "").strip():
            out[i] = DocumentTerms()
        elif is_grounded(details, explainer):
            out[i] = grounded_terms(details, lang)
        elif isinstance(details.get("objects"), list) and details["objects"]:
            out[i] = structured_terms(details, lang, phrases)
        else:
            free[i] = (text or "", described_regions(details))
    out.update(zip(free, free_terms(list(free.values()), lang, phrases, workers), strict=True))
    return [out[i] for i in range(len(docs))]


def free_terms(
    texts: Sequence[tuple[str, tuple[int, ...]]], lang: str, phrases: tuple[str, ...], workers: int
) -> list[DocumentTerms]:
    """Terms of free texts ``(text, described regions)``: with regions, sentence by sentence
    (a sentence naming regions is localized to them), all tokenized in one call."""
    pieces = [_localized_pieces(t, d) if d else [(t, ())] for t, d in texts]
    flat = [piece for parts in pieces for piece, _ in parts]
    tokens = iter(tokenize_many(flat, lang=lang, workers=workers, phrases=phrases) if flat else [])
    names = known_names(lang, phrases)
    out = []
    for (_, described), parts in zip(texts, pieces, strict=True):
        terms = []
        for _, named in parts:
            regions, localized = (named, True) if named else (described, False)
            terms += [
                Term(w, "object" if w in names else "other", regions, localized)
                for w in next(tokens)
            ]
        out.append(DocumentTerms(terms))
    return out


# grounded ------------------------------------------------------------------------------------


def is_grounded(details: Mapping[str, Any], explainer: str | None = None) -> bool:
    """Whether ``details`` are the grounded explainer's: named so, or regions that carry its
    facts (object candidates), as a subclass or a renamed registration writes them."""
    regions = details.get("regions")
    if not isinstance(regions, list):
        return False
    name = details.get("explainer") or (explainer or "").split(":", 1)[0]
    facts = bool(regions) and all(isinstance(r, Mapping) and "candidates" in r for r in regions)
    return name == "grounded" or facts


def grounded_terms(details: Mapping[str, Any], lang: str) -> DocumentTerms:
    """Per region, in the order its sentence says them: position, colours, objects."""
    terms: list[Term] = []
    for region in details.get("regions") or []:
        where = (int(region["index"]),)
        position = region.get("position_name") or _position_name(region.get("position"), lang)
        if position:
            terms.append(Term(_clean(position, lang), "position", where, True))
        for colour in region.get("colors") or []:
            if colour.get("name"):
                terms.append(Term(_clean(colour["name"], lang), "colour", where, True))
        for candidate in region.get("candidates") or []:
            if candidate.get("label"):
                terms.append(Term(_clean(candidate["label"], lang), "object", where, True))
        for guess in region.get("hedged") or []:
            if isinstance(guess, Mapping) and guess.get("label"):
                terms.append(Term(_clean(guess["label"], lang), "guess", where, True))
    return DocumentTerms(terms)


def majority_kinds(docs: Iterable[DocumentTerms]) -> dict[str, str]:
    """``{term: kind}``: the kind ``docs`` give each term most often, ties in :data:`KINDS`
    order (what :func:`core.store.word_owners.term_kinds` reads from a stored run)."""
    from collections import Counter

    counts = Counter((t.term, t.kind) for d in docs for t in d.terms)
    best: dict[str, tuple[int, int, str]] = {}
    for (term, kind), n in counts.items():
        rank = (-n, kind_rank(kind), kind)
        if term not in best or rank < best[term]:
            best[term] = rank
    return {term: rank[2] for term, rank in best.items()}


def kind_rank(kind: str) -> int:
    """A kind's place in :data:`KINDS` (an unknown kind after them): breaks a tie."""
    return KINDS.index(kind) if kind in KINDS else len(KINDS)


def _position_name(key: str | None, lang: str) -> str | None:
    from core.regions import position_name

    try:
        return position_name(key, lang) if key else None
    except ValueError:
        return None


def _clean(word: str, lang: str) -> str:
    """A name as a term: NFKC, single spaces, English lowercased (as the tokenizer writes it)."""
    word = " ".join(unicodedata.normalize("NFKC", str(word)).split())
    return word.lower() if lang == "en" else word


# openai structured ---------------------------------------------------------------------------


def structured_terms(
    details: Mapping[str, Any], lang: str, phrases: tuple[str, ...] = ()
) -> DocumentTerms:
    """Terms of a structured answer's items, each tied to the region(s) the item names."""
    items = [i for i in details["objects"] if isinstance(i, Mapping)]
    described = described_regions(details)
    fields = [str(i.get(name) or "") for i in items for name in ("object", "feature")]
    tokens = iter(tokenize_many(fields, lang=lang, phrases=phrases))
    names, colours = known_names(lang, phrases), colour_words(lang)
    terms: list[Term] = []
    for item in items:
        named = named_regions(str(item.get("region") or ""), details, lang)
        regions, localized = (named, True) if named else (described, False)
        for word in next(tokens):
            kind = "colour" if word in colours else "object"
            terms.append(Term(word, kind, regions, localized))
        position = find_position(str(item.get("region") or ""), lang)
        if position:
            terms.append(Term(position, "position", regions, localized))
        for word in next(tokens):
            kind = "colour" if word in colours else "object" if word in names else "other"
            terms.append(Term(word, kind, regions, localized))
    return DocumentTerms(terms)


def described_regions(details: Mapping[str, Any]) -> tuple[int, ...]:
    """The indexes of the numbered regions the explainer was shown (marks mode), sorted."""
    found = set()
    for region in details.get("regions") or []:
        if isinstance(region, Mapping) and isinstance(region.get("index"), int):
            found.add(int(region["index"]))
    return tuple(sorted(found))


_NUMBER = re.compile(r"\d+|[①-⑳]")


def named_regions(region: str, details: Mapping[str, Any], lang: str) -> tuple[int, ...]:
    """The described regions a structured item's ``region`` names: by number or by position."""
    described = described_regions(details)
    if not described or not region.strip():
        return ()
    text = unicodedata.normalize("NFKC", region)
    found = sorted({int(m) for m in re.findall(r"\d+", text)} & set(described))  # NFKC: ① -> 1
    if found:
        return tuple(found)
    position = find_position(text, lang)
    if position is None:
        return ()
    return tuple(
        int(r["index"])
        for r in details.get("regions") or []
        if _clean(str(r.get("position") or ""), lang) == position and int(r["index"]) in described
    )


def _number(token: str) -> int:
    if token.isdigit():
        return int(token)
    return ord(token) - ord("①") + 1


@lru_cache(maxsize=2)
def _positions(lang: str) -> tuple[tuple[str, str], ...]:
    """``(pattern text, position name)`` of the grid's names, longest first; English also
    with the American spelling (upper center)."""
    from core.regions import _POSITION_NAMES

    names = [_clean(n, lang) for n in _POSITION_NAMES[lang].values()]
    pairs = [(n, n) for n in names]
    if lang == "en":
        pairs += [(n.replace("centre", "center"), n) for n in names if "centre" in n]
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def find_position(text: str, lang: str) -> str | None:
    """The grid position name (as :func:`core.regions.position_name` writes it) in ``text``."""
    text = _clean(text, lang)
    for pattern, name in _positions(lang):
        if lang == "en":
            if re.search(rf"\b{re.escape(pattern)}\b", text):
                return name
        elif pattern in text:
            return name
    return None


# free text -----------------------------------------------------------------------------------

_SENTENCES = re.compile(r"(?<=[。！？!?])|(?<=\.)\s+|\n+")
_LIST = r"\d+(?:\s*(?:,|、|・|/|&|と|や|and|or|および)\s*\d+)*"
_MENTION = re.compile(
    rf"(?:\b(?:regions?|areas?|marks?|markers?|boxes|box|numbers?|no\.)\s*[#:]?\s*|#\s*"
    rf"|(?:領域|エリア|番号|マーク|箇所)\s*[:：]?\s*)({_LIST})"
    rf"|({_LIST})\s*番(?:目)?(?:の)?(?:領域)?|[(（]\s*(\d+)\s*[)）]|([①-⑳])",
    re.IGNORECASE,
)


def mentioned_regions(sentence: str, described: Sequence[int]) -> tuple[int, ...]:
    """The described regions a free-text sentence names ("region 2", 領域1と3, ①), sorted."""
    found: set[int] = set()
    for m in _MENTION.finditer(unicodedata.normalize("NFKC", sentence)):
        for group in m.groups():
            if group:
                found.update(_number(n) for n in _NUMBER.findall(group))
    for m in re.findall(r"[①-⑳]", sentence):  # NFKC turns ① into 1: read the original too
        found.add(_number(m))
    return tuple(sorted(n for n in found if n in described))


def _localized_pieces(text: str, described: Sequence[int]) -> list[tuple[str, tuple[int, ...]]]:
    """``text`` as sentences with the described regions each names (``()``: none named)."""
    sentences = [s for s in _SENTENCES.split(text) if s and s.strip()]
    return [(s, mentioned_regions(s, described)) for s in sentences] or [(text, ())]


@lru_cache(maxsize=16)
def known_names(lang: str, phrases: tuple[str, ...] = ()) -> frozenset[str]:
    """Terms that name things: the ImageNet names of ``lang`` and ``phrases``, as terms."""
    out = set()
    for name in (*imagenet_names(lang), *phrases):
        term = _clean(name.replace("_", " "), lang)
        out.add(term)
        if lang == "en" and " " not in term:
            out.add(lemmatize_en(term, "NOUN"))
    return frozenset(out)


@lru_cache(maxsize=2)
def colour_words(lang: str) -> frozenset[str]:
    """The colour names the grounded explainer uses, as terms."""
    from core.colours import COLOUR_NAMES

    return frozenset(_clean(names[lang], lang) for names in COLOUR_NAMES.values())
