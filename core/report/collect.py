"""What the report shows, collected from a published DB: :func:`build_report` -> :class:`Report`.

Per ward (class): its top words (n/m, coefficient, verified effect) from
:func:`core.mining.keyword_table` (the default settings, by true label), each with the
sentences around it and the most confident photos of the ward that contain it (input and CAM
overlay as data URIs, the explanation split into highlighted segments).
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
    """One example photo: its name, labels, confidence, pictures and highlighted explanation."""

    name: str
    true_label: str
    pred_label: str
    score: float | None
    input_uri: str | None
    overlay_uri: str | None
    explanation: Segments


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


def _photos(con, db: str, run_id: int, ward: str, word: str, limit: int, name) -> list:
    from core.store import queries

    f = queries.PhotoFilter(word=word, labels=(ward,))
    rows = queries.ordered_photos(con, run_id, f, "confidence", 0, limit, 0)
    out = []
    for row in rows.to_dict("records"):
        score = row.get("score")
        out.append(
            ReportPhoto(
                name=str(row.get("rel_path") or row.get("path") or row["image_id"]),
                true_label=str(name(row.get("true_label")) or "—"),
                pred_label=str(name(row.get("pred_label")) or "—"),
                score=float(score) if isinstance(score, float) and score == score else None,
                input_uri=data_uri(queries.resolve_asset(db, row.get("thumb_path"))),
                overlay_uri=data_uri(queries.resolve_asset(db, row.get("overlay_path"))),
                explanation=highlight(row.get("text"), word),
            )
        )
    return out


def effect_text(effect: Any, lang: str) -> str:
    """A word's verification as the report shows it: effect, 95% interval and the verdict
    ("" for a word not tested)."""
    if effect is None or effect.effect is None:
        return ""
    interval = "" if effect.ci_low is None else f" [{effect.ci_low:+.2f}, {effect.ci_high:+.2f}]"
    verdict = text("causal" if effect.causal else "no_effect", lang)
    return f"{effect.effect:+.2f}{interval} {verdict}"


def _section(con, db, run_id, ward, keywords, corpus, recall, photos, name, lang):
    """One ward: its words with their sentences, example photos and verified effects."""
    from core.mining import examples

    words = []
    for kw in keywords:
        found = examples(corpus, kw.word, cls=ward, limit=2)
        words.append(
            WordEntry(
                word=kw.word,
                n=int(kw.n),
                m=int(kw.m),
                weight=float(kw.weight),
                sentences=[highlight(ex.sentence, kw.word) for ex in found],
                photos=_photos(con, db, run_id, ward, kw.word, photos, name),
                effect=effect_text(kw.verification, lang),
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
            _section(con, db, run_id, w, result.classes[w], corpus, recall, photos, name, lang)
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
