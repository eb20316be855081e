"""The report as one self-contained HTML file (Jinja, autoescaped) or as Markdown."""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import WordcamError
from core.formatting import pct as _pct
from core.report.collect import Report, Segments

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def render_html(report: Report) -> str:
    """One HTML document: images as data URIs, no external resource, every text escaped."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("core.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(r=report, pct=_pct)


def _md(value: object) -> str:
    """``value`` escaped for Markdown (every ASCII punctuation mark backslash-escaped)."""
    return _PUNCTUATION.sub(r"\\\1", str(value)).replace("\n", " ")


def _md_segments(parts: Segments) -> str:
    return "".join(f"**{_md(p)}**" if hit else _md(p) for p, hit in parts)


def render_markdown(report: Report) -> str:
    """The report as Markdown: the tables, the sentences, the photos as data-URI images."""
    t = report.t
    lines = [f"# {_md(t('title'))}", "", _md(t("run", run=report.run_id)), ""]
    lines += [f"## {_md(t('settings'))}", "", f"| {t('setting')} | {t('value')} |", "|---|---|"]
    lines += [f"| {_md(k)} | {_md(v)} |" for k, v in report.settings]
    lines += ["", f"## {_md(t('accuracies'))}", "", "| | |", "|---|---:|"]
    lines += [f"| {_md(k)} | {_md(v)} |" for k, v in report.accuracies]
    for s in report.sections:
        lines += [
            "",
            f"## {_md(s.name)}",
            "",
            _md(t("ward_docs", n=s.documents, recall=_pct(s.recall))),
        ]
        if s.paragraph:
            lines += ["", f"> {_md(s.paragraph)}"]
        verified = any(w.effect for w in s.words)
        lines += [
            "",
            f"| {t('rank')} | {t('word')} | n/m | {t('coefficient')} |"
            + (f" {t('effect')} |" if verified else ""),
            "|---:|---|---:|---:|" + ("---|" if verified else ""),
        ]
        lines += [
            f"| {i} | {_md(w.word)} | {w.n}/{w.m} | {w.weight:.3f} |"
            + (f" {_md(w.effect)} |" if verified else "")
            for i, w in enumerate(s.words, start=1)
        ]
        for i, w in enumerate(s.words, start=1):
            lines += ["", f"### {i}. {_md(w.word)}", ""]
            lines += [f"- {_md_segments(sentence)}" for sentence in w.sentences]
            for p in w.photos:
                pics = " ".join(
                    f"![{_md(alt)}]({uri})"
                    for alt, uri in ((t("input"), p.input_uri), (t("overlay"), p.overlay_uri))
                    if uri
                )
                caption = t("true_pred", true=p.true_label, pred=p.pred_label, prob=_pct(p.score))
                lines += [
                    "",
                    pics,
                    "",
                    f"**{_md(p.name)}** · {_md(caption)}  ",
                    _md_segments(p.explanation),
                ]
    return "\n".join(lines) + "\n"


def write_report(report: Report, out: str | Path) -> Path:
    """Write ``report`` to ``out`` as HTML (``.html``/``.htm``) or Markdown (``.md``)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix in (".html", ".htm"):
        body = render_html(report)
    elif suffix == ".md":
        body = render_markdown(report)
    else:
        raise WordcamError(f"cannot write a report as {out.name}; use a .html or .md file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out
