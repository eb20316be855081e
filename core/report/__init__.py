"""The ward report: per ward the telling words, what they meant on the photos, and examples.

``build_report(db, run_id, lang)`` collects it from a published DB (:mod:`.collect`);
``render_html`` makes one self-contained HTML file of it (images as data URIs, no external
resources, print CSS; every text escaped by Jinja's autoescape), ``render_markdown`` a
Markdown file; ``write_report`` picks by the file's suffix. With a vision-language explainer
(``vlm=``) each ward gets a short paragraph written from its table and examples (cached like
every VLM call, :mod:`.vlm`). ``wordcam report`` and the dashboard's Report page are thin
layers over this package; nothing here imports streamlit.
"""

from core.report.collect import Report, ReportPhoto, WardSection, WordEntry, build_report
from core.report.render import render_html, render_markdown, write_report

__all__ = [
    "Report",
    "ReportPhoto",
    "WardSection",
    "WordEntry",
    "build_report",
    "render_html",
    "render_markdown",
    "write_report",
]
