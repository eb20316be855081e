"""Altair charts of the dashboard (text in them is drawn by Vega as text, never as HTML).

Building an Altair chart and validating its spec costs ~100 ms, too slow for every click, so
:func:`show` builds each chart once per (kind, columns, options) on an empty frame, keeps the
Vega-Lite spec, and hands Streamlit that spec with the current data (``st.vega_lite_chart``).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from core.mining.effects import NOT_TESTED
from dashboard import fmt
from dashboard.i18n import lang as screen_lang
from dashboard.i18n import text
from dashboard.labels import verdict_label

WORD_SELECTION = "word_pick"  # every chart's click selection (its fields differ per chart)
SCATTER_LABELS = 3  # the scatter names at most this many words per ward (its strongest)
SCATTER_HEIGHT = 380


def _titles(lang: str):
    """``key -> chart.key`` in ``lang`` (axis, legend and tooltip titles)."""
    return lambda key: text(f"chart.{key}", lang)


def recall_bars(recall: pd.DataFrame, lang: str = "en") -> alt.LayerChart:
    """Per-class recall of the image model (horizontal bars, each labelled with its value)."""
    T = _titles(lang)
    bars = (
        alt.Chart(recall)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort="-x", axis=alt.Axis(labelLimit=220)),
            x=alt.X(
                "recall:Q",
                title=T("recall"),
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=fmt.axis("share")),
            ),
            color=alt.Color(
                "recall:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=None
            ),
            tooltip=[
                alt.Tooltip("label:N", title=T("class")),
                alt.Tooltip("recall:Q", title=T("recall"), format=fmt.vega("share")),
                alt.Tooltip("correct:Q", title=T("correct"), format=fmt.vega("count")),
                alt.Tooltip("support:Q", title=T("support"), format=fmt.vega("count")),
            ],
        )
        .properties(height=alt.Step(22))
    )
    labels = (
        alt.Chart(recall)
        .mark_text(align="left", dx=3, fontSize=11, color="#444")
        .encode(
            y=alt.Y("label:N", sort="-x"),
            x=alt.X("recall:Q"),
            text=alt.Text("recall:Q", format=fmt.vega("share")),
        )
    )
    return bars + labels


def confusion_heatmap(conf: pd.DataFrame, lang: str = "en") -> alt.LayerChart:
    """Confusion matrix: row shares, counts in the cells, every class name on both axes."""
    T = _titles(lang)
    every = {"labelOverlap": False, "labelLimit": 220}  # never drop a name for lack of room
    base = alt.Chart(conf).encode(
        x=alt.X("pred_label:N", title=T("predicted"), axis=alt.Axis(labelAngle=-60, **every)),
        y=alt.Y("true_label:N", title=T("true"), axis=alt.Axis(**every)),
    )
    pick = alt.selection_point(name=WORD_SELECTION, fields=["true_key", "pred_key"], on="click")
    cells = base.mark_rect(cursor="pointer").encode(
        color=alt.Color(
            "share:Q", title=T("row_share"), scale=alt.Scale(scheme="oranges", domain=[0, 1])
        ),
        tooltip=[
            alt.Tooltip("true_label:N", title=T("true")),
            alt.Tooltip("pred_label:N", title=T("predicted")),
            alt.Tooltip("n:Q", title=T("photos"), format=fmt.vega("count")),
            alt.Tooltip("share:Q", title=T("row_share"), format=fmt.vega("share")),
        ],
    )
    cells = cells.add_params(pick)
    label = base.mark_text(fontSize=10).encode(
        text=alt.Text("n:Q", format=fmt.vega("count")),
        color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("black")),
    )
    return (cells + label).properties(height=alt.Step(26), width=alt.Step(30))


def keyword_bars(frame: pd.DataFrame, lang: str = "en") -> alt.LayerChart:
    """Bars of one ward's keyword coefficients, best first, ``n/m`` written beside each bar.

    A causal verified word has ``✓`` after its ``n/m``; its effect and verdict are in the tooltip.
    The one coefficient scale every ward's chart shares (so bars compare across wards) is set
    on the built spec by :func:`show` (``x_domain``: no rebuild per table); the shade
    (precision) has its legend.

    Clicking a bar selects its word (selection parameter ``word_pick``, fields word + ward).
    """
    T = _titles(lang)
    pick = alt.selection_point(name=WORD_SELECTION, fields=["word", "ward"], on="click")
    base = alt.Chart(frame).encode(
        y=alt.Y("word:N", title=None, sort=alt.EncodingSortField("rank", op="min")),
        tooltip=[
            alt.Tooltip("ward:N", title=T("ward")),
            alt.Tooltip("word:N", title=T("word")),
            alt.Tooltip("weight:Q", title=T("coefficient"), format=fmt.vega("coef")),
            alt.Tooltip("nm:N", title=T("precision_nm")),
            alt.Tooltip("precision:Q", title=T("precision"), format=fmt.vega("share")),
            alt.Tooltip("effect:Q", title=T("effect"), format=fmt.vega("effect")),
            alt.Tooltip("verified:N", title=T("verified")),
            alt.Tooltip("region:N", title=T("region_of")),
        ],
    )
    scale = alt.Scale(nice=True)
    bars = (
        base.mark_bar(cursor="pointer")
        .encode(
            x=alt.X("weight:Q", title=T("coefficient"), scale=scale),
            color=alt.Color(
                "precision:Q",
                title=T("precision"),
                scale=alt.Scale(scheme="teals", domain=[0, 1]),
                legend=alt.Legend(format=fmt.axis("share"), orient="bottom", gradientLength=120),
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.5)),
        )
        .add_params(pick)
    )
    labels = base.mark_text(align="left", dx=3, fontSize=11, color="#444").encode(
        x=alt.X("weight:Q"), text="nm:N"
    )
    return alt.layer(bars, labels).properties(height=alt.Step(20))


def precision_scatter(frame: pd.DataFrame, lang: str = "en") -> alt.LayerChart:
    """Precision vs coefficient of the shown keywords, one colour per ward.

    Points are named by ``frame["label"]`` (:func:`scatter_labels`: a few strong words per
    ward, never two names on top of each other); every point keeps its tooltip and its click.

    A click selects the point's word and ward (``word_pick``: fields ``word``, ``ward_key``).
    """
    T = _titles(lang)
    pick = alt.selection_point(name=WORD_SELECTION, fields=["word", "ward_key"], on="click")
    base = alt.Chart(frame).encode(
        x=alt.X("weight:Q", title=T("coefficient")),
        y=alt.Y(
            "precision:Q",
            title=T("precision_nm"),
            axis=alt.Axis(format=fmt.axis("share")),
            scale=alt.Scale(domain=[0, 1.05]),
        ),
    )
    points = (
        base.mark_circle(opacity=0.85, cursor="pointer")
        .encode(
            color=alt.Color(
                "ward:N",
                title=T("ward"),
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="right", labelLimit=200),
            ),
            size=alt.Size(
                "m:Q",
                title=T("documents_m"),
                scale=alt.Scale(range=[30, 300]),
                legend=alt.Legend(orient="bottom", direction="horizontal"),
            ),
            tooltip=[
                alt.Tooltip("ward:N", title=T("ward")),
                alt.Tooltip("word:N", title=T("word")),
                alt.Tooltip("weight:Q", title=T("coefficient"), format=fmt.vega("coef")),
                alt.Tooltip("n:Q", title="n", format=fmt.vega("count")),
                alt.Tooltip("m:Q", title="m", format=fmt.vega("count")),
                alt.Tooltip("precision:Q", title=T("precision"), format=fmt.vega("share")),
            ],
        )
        .add_params(pick)
    )
    names = (
        base.transform_filter("datum.label != ''")
        .mark_text(align="left", baseline="middle", dx=7, fontSize=10, color="#333")
        .encode(text="label:N")
    )
    return alt.layer(points, names).properties(height=SCATTER_HEIGHT)


def word_compare_bars(
    stats: pd.DataFrame, field: str, title: str, lang: str = "en"
) -> alt.LayerChart:
    """Grouped bars per ward, one bar per word, for ``field`` (``precision`` or ``doc_share``).

    Every bar carries its value; a click selects its word and ward (``word``, ``label_key``).
    """
    T = _titles(lang)
    pick = alt.selection_point(name=WORD_SELECTION, fields=["word", "label_key"], on="click")
    base = alt.Chart(stats).encode(
        y=alt.Y("label:N", title=None, axis=alt.Axis(labelLimit=200)),
        yOffset=alt.YOffset("word:N"),
        x=alt.X(f"{field}:Q", title=title, axis=alt.Axis(format=fmt.axis("share"))),
    )
    bars = (
        base.mark_bar(cursor="pointer")
        .encode(
            color=alt.Color("word:N", title=T("word"), legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("label:N", title=T("ward")),
                alt.Tooltip("word:N", title=T("word")),
                alt.Tooltip("n:Q", title="n", format=fmt.vega("count")),
                alt.Tooltip("m:Q", title="m", format=fmt.vega("count")),
                alt.Tooltip("docs:Q", title=T("documents"), format=fmt.vega("count")),
                alt.Tooltip("precision:Q", title=T("precision"), format=fmt.vega("share")),
                alt.Tooltip("doc_share:Q", title=T("doc_share"), format=fmt.vega("share")),
            ],
        )
        .add_params(pick)
    )
    values = base.mark_text(align="left", dx=2, fontSize=9, color="#444").encode(
        text=alt.Text(f"{field}:Q", format=fmt.vega("share"))
    )
    return alt.layer(bars, values).properties(height=alt.Step(14))


def contrast_bars(frame: pd.DataFrame, a: str, b: str, lang: str = "en") -> alt.Chart:
    """Words that mark ward ``a`` (z > 0) or ward ``b`` (z < 0): log-odds z-scores.

    Every word is labelled (no label dropped for lack of room); the legend lists the first
    ward first, like the table; a click selects the word and the ward it marks
    (``word``, ``side_key``).
    """
    T = _titles(lang)
    pick = alt.selection_point(name=WORD_SELECTION, fields=["word", "side_key"], on="click")
    return (
        alt.Chart(frame)
        .mark_bar(cursor="pointer")
        .encode(
            y=alt.Y(
                "word:N",
                title=None,
                sort=alt.EncodingSortField("z", order="descending"),
                axis=alt.Axis(labelOverlap=False, labelLimit=200),
            ),
            x=alt.X("z:Q", title=T("z_axis")),
            color=alt.Color(
                "side:N",
                title=T("marks"),
                scale=alt.Scale(domain=[a, b]),
                sort=[a, b],
                legend=alt.Legend(orient="bottom", labelLimit=200),
            ),
            tooltip=[
                alt.Tooltip("side:N", title=T("marks")),
                alt.Tooltip("word:N", title=T("word")),
                alt.Tooltip("n_a:Q", title=T("docs_first"), format=fmt.vega("count")),
                alt.Tooltip("n_b:Q", title=T("docs_second"), format=fmt.vega("count")),
                alt.Tooltip("z:Q", title=T("z"), format=fmt.vega("z")),
            ],
        )
        .add_params(pick)
        .properties(height=alt.Step(20))
    )


def scatter_labels(
    frame: pd.DataFrame, width: float = 700.0, per_ward: int = SCATTER_LABELS
) -> pd.Series:
    """The names :func:`precision_scatter` writes beside its points ("" = none).

    Vega-Lite places no labels for points, and naming every point piled the names up where
    points are dense (issue 23). Each ward's ``per_ward`` strongest words (by coefficient) are
    candidates, strongest first; a name is kept only if its box (10 px text right of the point,
    on a ``width`` x :data:`SCATTER_HEIGHT` plot) overlaps no name kept before.
    """
    labels = pd.Series("", index=frame.index, dtype=object)
    if frame.empty:
        return labels
    x, y = frame["weight"].astype(float), frame["precision"].astype(float)
    lo, hi = min(0.0, float(x.min())), max(float(x.max()), 1e-9)
    px = (x - lo) / (hi - lo or 1.0) * width
    py = (1.0 - y / 1.05) * SCATTER_HEIGHT  # the y domain is [0, 1.05]
    strongest = frame.sort_values("weight", ascending=False).groupby("ward_key").head(per_ward)
    kept: list[tuple[float, float, float, float]] = []
    for i in strongest.sort_values("weight", ascending=False).index:
        word = str(frame.at[i, "word"])
        chars = sum(10 if ord(c) > 0x2E7F else 6 for c in word)
        box = (px[i] + 7, py[i] - 7, px[i] + 9 + chars, py[i] + 7)
        if any(b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3] for b in kept):
            continue
        kept.append(box)
        labels[i] = word
    return labels


def keyword_chart_data(frame: pd.DataFrame, result: Any = None) -> pd.DataFrame:
    """The keywords frame with what :func:`keyword_bars` shows beside the bars and in tooltips.

    ``nm`` is ``"n/m"`` (``"n/m ✓"`` for a causal verified word); ``effect`` and ``verified``
    (the verdict in the screen's language, "" when not verified) are those of the
    verifications attached to ``result``'s words (:func:`core.mining.keyword_table`);
    ``region`` is the object word whose regions the word describes or also names (its
    ``attribute_of``: the table's "— region of ..."; "" for none).
    """
    out = frame.assign(nm=frame["n"].astype(str) + "/" + frame["m"].astype(str))
    owners = [_owner(result, w, word) for w, word in zip(out["ward"], out["word"], strict=True)]
    out["region"] = owners
    if result is None or result.verification is None:
        return out.assign(effect=float("nan"), verified="")
    pairs = zip(out["ward"], out["word"], strict=True)
    states = [result.verification_of(w, word) for w, word in pairs]
    causal = pd.Series(
        [None if s is NOT_TESTED else bool(s.causal) for s in states], index=out.index, dtype=object
    )
    out["nm"] = out["nm"] + causal.map(lambda c: " ✓" if c else "")
    out["verified"] = [verdict_label(s, screen_lang()) for s in states]
    effect = [s.to_dict()["effect"] for s in states]
    out["effect"] = pd.to_numeric(pd.Series(effect, index=out.index), errors="coerce").astype(float)
    return out


def _owner(result: Any, ward: str, word: str) -> str:
    """The object word ``word`` is shown under in ``ward``'s table ("" for none)."""
    keyword = result.keyword(ward, word) if result is not None else None
    return (keyword.attribute_of or "") if keyword is not None else ""


BUILDERS = {
    "recall": recall_bars,
    "confusion": confusion_heatmap,
    "keywords": keyword_bars,
    "scatter": precision_scatter,
    "compare": word_compare_bars,
    "contrast": contrast_bars,
}


@functools.lru_cache(maxsize=128)
def _template(kind: str, columns: tuple[tuple[str, str], ...], options: str) -> str:
    empty = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns})
    spec = BUILDERS[kind](empty, **json.loads(options)).to_dict()
    spec.pop("datasets", None)
    spec.pop("data", None)
    return json.dumps(spec)


def spec_for(kind: str, frame: pd.DataFrame, **options: Any) -> dict[str, Any]:
    """The Vega-Lite spec (without data) of chart ``kind`` for frames shaped like ``frame``."""
    columns = tuple((str(c), str(t)) for c, t in frame.dtypes.items())
    return json.loads(
        _template(kind, columns, json.dumps(options, sort_keys=True, ensure_ascii=False))
    )


def with_x_domain(spec: dict[str, Any], domain: list[float] | None) -> dict[str, Any]:
    """``spec`` with its (first layer's) x scale fixed to ``domain``: a scale shared by charts.

    Set on the cached spec, not built into it: a new table's domain costs no Altair build.
    """
    if domain:
        encoding = (spec.get("layer") or [spec])[0]["encoding"]
        encoding["x"]["scale"] = {"domain": list(domain)}
    return spec


def show(
    kind: str,
    frame: pd.DataFrame,
    options: dict[str, Any] | None = None,
    x_domain: list[float] | None = None,
    **st_kwargs,
):
    """Draw chart ``kind`` of ``frame`` (returns Streamlit's selection state when selecting)."""
    spec = spec_for(kind, frame, **{"lang": screen_lang(), **(options or {})})
    return st.vega_lite_chart(frame, with_x_domain(spec, x_domain), **st_kwargs)
