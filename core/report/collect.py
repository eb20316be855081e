"""What the report shows, collected from a published DB: :func:`build_report` -> :class:`Report`.

Per ward (class): its top words (n/m, coefficient, verified effect of the word's own test,
kind, and the object a colour/position word is an attribute of) from
:func:`core.mining.keyword_table` (the default settings, by true label; object words first),
each with the sentences around it and the most confident photos of the ward that contain it
(input and CAM overlay as data URIs, the explanation split into highlighted segments).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from core.formatting import pct as _pct
from core.report.names import namer
from core.report.strings import text

Segments = list[tuple[str, bool]]  # (text, is the word)


@dataclass
class ReportPhoto:
    """One example photo: its name, labels, confidence, pictures and highlighted explanation.

    ``score`` is the model's probability of the ward, ``pred_prob`` that of its predicted
    label. For a verified word, ``hidden_uri``/``control_uri`` are the photo with the word's
    regions hidden and the same-area control, with the ward's probability before (``p_before``)
    and after each.
    """

    name: str
    true_label: str
    pred_label: str
    score: float | None
    input_uri: str | None
    overlay_uri: str | None
    explanation: Segments
    pred_prob: float | None = None
    hidden_uri: str | None = None
    control_uri: str | None = None
    p_before: float | None = None
    p_hidden: float | None = None
    p_control: float | None = None


@dataclass
class WordEntry:
    """A telling word of a ward: n/m, coefficient, sentences around it, example photos."""

    word: str
    n: int
    m: int
    weight: float
    sentences: list[Segments] = field(default_factory=list)
    photos: list[ReportPhoto] = field(default_factory=list)
    effect: str = ""  # the stored verification (``wordcam verify``), e.g. "+0.73 [+0.68, +0.78] ✓"
    kind: str | None = None  # object, colour, position, other (None: the run stores no kinds)
    attribute_of: str | None = None  # the object word whose regions this word describes
    test: str | None = None  # the word's own test behind ``effect`` (hide, colour, move)
    state: str = "not tested"  # causal, no effect shown, too few photos or not tested


@dataclass
class WardSection:
    """One ward of the report."""

    ward: str
    name: str
    documents: int
    recall: float | None
    words: list[WordEntry]
    paragraph: str | None = None


@dataclass
class Report:
    """The whole report, in one language."""

    lang: str
    run_id: int
    db: str
    settings: list[tuple[str, str]]
    accuracies: list[tuple[str, str]]
    sections: list[WardSection]
    created: str
    vlm_model: str | None = None

    def t(self, key: str, **kwargs: object) -> str:
        """The report's text ``key`` in its language."""
        return text(key, self.lang, **kwargs)


def highlight(value: str | None, word: str) -> Segments:
    """``value`` split into segments, those equal to ``word`` marked."""
    value = value or ""
    if not word:
        return [(value, False)]
    parts = re.split(f"({re.escape(word)})", value)
    return [(p, p == word) for p in parts if p]


def data_uri(path: Path | None) -> str | None:
    """The file as a ``data:`` URI (PNG or JPEG by its bytes), or ``None``."""
    if path is None:
        return None
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    mime = "image/jpeg" if blob[:3] == b"\xff\xd8\xff" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(blob).decode('ascii')}"


def _mined(con, db: str, run_id: int, lang: str, settings):
    """The keyword table (:func:`core.mining.keyword_table`, verified words attached) and the
    corpus (its sentences are the report's)."""
    from core.mining import keyword_table, load_corpus

    corpus = load_corpus(db, run_id=run_id, by=settings.by, lang=lang)
    return keyword_table(con, run_id, settings, corpus=lambda: corpus), corpus


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, float | int) and value == value else None


def _photo_candidates(con, run_id: int, ward: str, word: str, want: int, verified: bool):
    """Rows of the word's photos in the ward, most confident first; for a verified word the
    photos its verification measured come first (they have hidden and control pictures)."""
    from core.store import queries
    from core.store.effects import latest_key, photo_rows

    rows = []
    key = latest_key(con, run_id, "true") if verified else None
    if key is not None:
        measured = sorted(
            photo_rows(con, run_id, key, ward, word), key=lambda e: -(e.p_before or 0.0)
        )
        rows += queries.photos_by_ids(con, run_id, [e.image_id for e in measured[:want]])
    f = queries.PhotoFilter(word=word, labels=(ward,))
    rows += queries.ordered_photos(con, run_id, f, "confidence", 0, want, 0).to_dict("records")
    return rows


def _photos(con, db: str, run_id: int, ward: str, word: str, limit: int, name, used=None):
    """The word's most confident photos of the ward, none already shown under another word of
    the ward (``used``: image ids, updated), each with its verification pictures if any."""
    from core.store import queries
    from core.store.effects import read_photo_effects

    used = set() if used is None else used
    rows = _photo_candidates(con, run_id, ward, word, limit + len(used), bool(limit))
    out = []
    for row in rows:
        if len(out) >= limit:
            break
        image_id = int(row["image_id"])
        if image_id in used:
            continue
        used.add(image_id)
        effect = next(
            (
                e
                for e in read_photo_effects(con, run_id, image_id, by="true")
                if e.cls == ward and e.word == word
            ),
            None,
        )
        out.append(
            ReportPhoto(
                name=str(row.get("rel_path") or row.get("path") or row["image_id"]),
                true_label=str(name(row.get("true_label")) or "—"),
                pred_label=str(name(row.get("pred_label")) or "—"),
                score=_float(row.get("score")) if effect is None else effect.p_before,
                input_uri=data_uri(queries.resolve_asset(db, row.get("thumb_path"))),
                overlay_uri=data_uri(queries.resolve_asset(db, row.get("overlay_path"))),
                explanation=highlight(row.get("text"), word),
                pred_prob=_float(row.get("pred_prob")),
                hidden_uri=effect and data_uri(queries.resolve_asset(db, effect.hidden_path)),
                control_uri=effect and data_uri(queries.resolve_asset(db, effect.control_path)),
                p_before=effect and effect.p_before,
                p_hidden=effect and effect.p_hidden,
                p_control=effect and effect.p_control,
            )
        )
    return out


def effect_text(effect: Any, lang: str, verified: bool = True) -> str:
    """A word's verification (its own test's: :attr:`core.mining.Keyword.verification`) as
    the report shows it: effect, 95% interval and the verdict ("" for a word not tested)."""
    from core.mining.effects import row_test, state_of

    if effect is None or not verified:  # a run never verified claims nothing
        return ""
    state, test = state_of(effect), row_test(effect)
    verdict = text(VERDICT_KEYS[state], lang)
    if test is not None:
        verdict = text("with_test", lang, verdict=verdict, test=text(f"test_{test}", lang))
    if effect.effect is None or state not in ("causal", "no effect shown"):
        return verdict
    interval = "" if effect.ci_low is None else f" [{effect.ci_low:+.2f}, {effect.ci_high:+.2f}]"
    return f"{effect.effect:+.2f}{interval} {verdict}"


#: The report's string of each of the four states (core.store.effects.VERDICTS).
VERDICT_KEYS = {
    "causal": "causal",
    "no effect shown": "no_effect",
    "too few photos": "too_few",
    "not tested": "not_tested",
}


def _section(con, db, run_id, ward, keywords, corpus, recall, photos, name, lang, verified):
    """One ward: its words with their sentences, example photos and verified effects."""
    from core.mining import examples

    words = []
    used: set[int] = set()  # each photo under one word only: every word its own examples
    for kw in keywords:
        found = examples(corpus, kw.word, cls=ward, limit=2)
        words.append(
            WordEntry(
                word=kw.word,
                n=int(kw.n),
                m=int(kw.m),
                weight=float(kw.weight),
                sentences=[highlight(ex.sentence, kw.word) for ex in found],
                photos=_photos(con, db, run_id, ward, kw.word, photos, name, used),
                effect=effect_text(kw.verification, lang, verified),
                kind=kw.kind,
                attribute_of=kw.attribute_of,
                test=kw.test,
                state=kw.state,
            )
        )
    docs = int(sum(1 for label in corpus.labels if label == ward))
    return WardSection(ward, str(name(ward)), docs, recall.get(ward), words)


def _settings(info: dict[str, Any], lang: str, mining) -> list[tuple[str, str]]:
    keys = ("model", "explainer", "mode", "method", "lang", "source", "created_at")
    rows = [(text(k, lang), str(info[k])) for k in keys if info.get(k) is not None]
    return rows + [
        (text("label_source", lang), mining.by),
        (text("min_df", lang), str(mining.min_df)),
    ]


def build_report(
    db: str | Path,
    run_id: int | None = None,
    lang: str | None = None,
    top: int = 5,
    photos: int = 2,
    wards: list[str] | None = None,
) -> Report:
    """Collect the report of ``run_id`` (the latest run) in ``lang`` (the run's language).

    ``top`` words per ward, ``photos`` example photos per word (most confident first).
    """
    from core.mining import DEFAULTS
    from core.store import queries, reading

    mining = replace(DEFAULTS, top=top)  # the report mines by true label
    db = str(Path(db).expanduser().resolve())
    with reading(db) as con:
        run_id = queries.resolve_run(con, run_id)
        info = queries.run_info(con, run_id)
        lang = lang or str(info.get("lang") or "ja")
        labels = info.get("labels") if isinstance(info.get("labels"), list) else None
        name = namer(labels, lang)
        stats = queries.run_stats(con, run_id)
        recall_frame = queries.class_recall(con, run_id)
        recall = dict(zip(recall_frame["label"], recall_frame["recall"], strict=True))
        result, corpus = _mined(con, db, run_id, str(info.get("lang") or lang), mining)
        chosen = [w for w in result.classes if wards is None or w in wards]
        sections = [
            _section(
                con,
                db,
                run_id,
                w,
                result.classes[w],
                corpus,
                recall,
                photos,
                name,
                lang,
                result.verification is not None,
            )
            for w in chosen
        ]
    accuracies = [
        (text("image_accuracy", lang), _pct(stats.image_accuracy)),
        (text("text_accuracy", lang), _pct(result.text_accuracy)),
        (text("baseline", lang), _pct(result.baseline)),
        (text("documents", lang), f"{result.documents:,}"),
    ]
    return Report(
        lang=lang,
        run_id=run_id,
        db=db,
        settings=_settings(info, lang, mining),
        accuracies=accuracies,
        sections=sections,
        created=datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
