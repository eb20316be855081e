"""The report as one self-contained HTML file (Jinja, autoescaped) or as Markdown."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from core.errors import WordcamError
from core.files import replace_text
from core.formatting import pct as _pct
from core.report.collect import Report, Segments


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


# Plain Markdown: only the characters that start a construct are escaped (emphasis, code,
# links and images, HTML, table cells); digits, "%" and "." stay as they are (84.7%).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_LINE_START = re.compile(r"^(\s*)(\d*)([#>+.)-])(?=\s|$)")  # a heading, quote, list
IMAGE_FOLDER = "images"


def _md(value: object) -> str:
    """``value`` as literal Markdown text on one line (no HTML, link, emphasis or list)."""
    text = _MD_SPECIAL.sub(r"\\\1", str(value)).replace("\r", " ").replace("\n", " ")
    return _LINE_START.sub(lambda m: m.group(1) + m.group(2) + "\\" + m.group(3), text)


def _md_segments(parts: Segments) -> str:
    return "".join(f"**{_md(p)}**" if hit else _md(p) for p, hit in parts)


class _Images:
    """The report's pictures as files: ``images/<n>.<ext>`` and the bytes to write there."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.files: dict[str, bytes] = {}
        self.names: dict[str, str] = {}

    def link(self, alt: str, uri: str | None) -> str:
        if not uri or not uri.startswith("data:") or "," not in uri:
            return ""
        name = self.names.get(uri)
        if name is None:  # each picture written once, however often it is shown
            head, payload = uri.split(",", 1)
            ext = "jpg" if "jpeg" in head else "png"
            name = self.names[uri] = f"{self.folder}/{len(self.files) + 1:03d}.{ext}"
            self.files[name] = base64.b64decode(payload)
        return f"![{_md(alt)}]({name})"


def _md_photo(report: Report, s, w, p, images: _Images) -> list[str]:
    t = report.t
    pics = " ".join(
        link
        for alt, uri in ((t("input"), p.input_uri), (t("overlay"), p.overlay_uri))
        if (link := images.link(alt, uri))
    )
    caption = t("true_pred", true=p.true_label, pred=p.pred_label, prob=_pct(p.pred_prob))
    if p.pred_label != s.name:
        caption += " · " + t("ward_prob", ward=s.name, prob=_pct(p.score))
    lines = ["", pics, "", f"**{_md(p.name)}** · {_md(caption)}  ", _md_segments(p.explanation)]
    if p.hidden_uri or p.control_uri:
        verify = " ".join(
            link
            for alt, uri in (
                (t("pic_before", p=_pct(p.p_before)), p.input_uri),
                (t("pic_hidden", word=w.word, p=_pct(p.p_hidden)), p.hidden_uri),
                (t("pic_control", p=_pct(p.p_control)), p.control_uri),
            )
            if (link := images.link(alt, uri))
        )
        lines += ["", f"{_md(t('verify_pictures'))}: {verify}"]
    return lines


def _md_section(report: Report, s, images: _Images) -> list[str]:
    t = report.t
    lines = ["", f"## {_md(s.name)}", "", _md(t("ward_docs", n=s.documents, recall=_pct(s.recall)))]
    if s.paragraph:
        lines += ["", f"> {_md(s.paragraph)}"]
    verified = any(w.effect for w in s.words)
    lines += [
        "",
        f"| {t('rank')} | {t('word')} | n | m | {t('coefficient')} |"
        + (f" {t('effect')} |" if verified else ""),
        "|---:|---|---:|---:|---:|" + ("---|" if verified else ""),
    ]
    lines += [
        f"| {i} | {_md(w.word)} | {w.n} | {w.m} | {w.weight:.3f} |"
        + (f" {_md(w.effect)} |" if verified else "")
        for i, w in enumerate(s.words, start=1)
    ]
    for i, w in enumerate(s.words, start=1):
        lines += ["", f"### {i}. {_md(w.word)}", ""]
        lines += [f"- {_md_segments(sentence)}" for sentence in w.sentences]
        for p in w.photos:
            lines += _md_photo(report, s, w, p, images)
    return lines


def markdown_bundle(report: Report, folder: str = IMAGE_FOLDER) -> tuple[str, dict[str, bytes]]:
    """The report as plain Markdown and its pictures as files (``{relative path: bytes}``):
    images are linked (``![input](images/001.png)``), never embedded as base64."""
    t = report.t
    images = _Images(folder)
    lines = [f"# {_md(t('title'))}", "", _md(t("run", run=report.run_id)), ""]
    lines += [f"## {_md(t('settings'))}", "", f"| {t('setting')} | {t('value')} |", "|---|---|"]
    lines += [f"| {_md(k)} | {_md(v)} |" for k, v in report.settings]
    lines += ["", f"## {_md(t('accuracies'))}", "", "| | |", "|---|---:|"]
    lines += [f"| {_md(k)} | {_md(v)} |" for k, v in report.accuracies]
    for s in report.sections:
        lines += _md_section(report, s, images)
    if images.files:
        lines += ["", _md(t("images_note", folder=folder))]
    return "\n".join(lines) + "\n", images.files


def render_markdown(report: Report, folder: str = IMAGE_FOLDER) -> str:
    """The report as plain Markdown; its pictures are links into ``folder`` (write them with
    :func:`markdown_bundle` or :func:`write_report`)."""
    return markdown_bundle(report, folder)[0]


def markdown_zip(report: Report, name: str) -> bytes:
    """``name``.md and its ``images/`` folder as one ZIP (the dashboard's Markdown download)."""
    import io
    import zipfile

    text, files = markdown_bundle(report)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{name}.md", text)
        for path, blob in files.items():
            bundle.writestr(path, blob)
    return out.getvalue()


def write_report(report: Report, out: str | Path) -> Path:
    """Write ``report`` to ``out`` as HTML (``.html``/``.htm``) or Markdown (``.md``)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix in (".html", ".htm"):
        body = render_html(report)
    elif suffix == ".md":
        from core.store.nofollow import folder_no_follow, open_no_follow

        folder = f"{out.stem}_{IMAGE_FOLDER}"
        body, files = markdown_bundle(report, folder)
        out.parent.mkdir(parents=True, exist_ok=True)
        for path, blob in files.items():  # guessable names beside the report: never via a link
            folder_no_follow((out.parent / path).parent, out.parent)
            with open_no_follow(out.parent / path, "wb", new=True) as f:
                f.write(blob)
    else:
        raise WordcamError(f"cannot write a report as {out.name}; use a .html or .md file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    return replace_text(out, body)
