"""An optional paragraph per ward, written by a vision-language model from the ward's table
and examples. Each call goes through the explainer's cache and call log
(:mod:`core.explainers.vlm_cache`): the same table and photos are never asked twice.
"""

from __future__ import annotations

from core.report.collect import Report, WardSection
from core.report.strings import text


def ward_prompt(section: WardSection, lang: str) -> str:
    """The prompt of one ward: its words (n/m, coefficient) and the sentences around them."""
    table = "\n".join(f"- {w.word} ({w.n}/{w.m}, {w.weight:.3f})" for w in section.words)
    sentences = "\n".join(
        "- " + "".join(part for part, _ in sentence)
        for w in section.words
        for sentence in w.sentences[:1]
    )
    return text("vlm_prompt", lang, ward=section.name, table=table, sentences=sentences)


def _images(section: WardSection, limit: int = 4) -> list[str]:
    uris = [u for w in section.words for p in w.photos[:1] for u in (p.input_uri, p.overlay_uri)]
    return [u for u in uris if u][:limit]


def ward_paragraph(explainer, section: WardSection, lang: str, cache) -> str | None:
    """One ward's paragraph (cached answer when there is one), ``None`` when the call failed."""
    answer = explainer.ask(ward_prompt(section, lang), _images(section), cache)
    return answer.text or None


def add_paragraphs(report: Report, spec: str, base_url: str | None = None) -> Report:
    """Fill ``paragraph`` of every ward of ``report`` with ``spec`` (``openai:MODEL``)."""
    from core.explainers import load_explainer
    from core.explainers.vlm_cache import VLMCache

    options = {"lang": report.lang, **({"base_url": base_url} if base_url else {})}
    explainer = load_explainer(spec, **options)
    report.vlm_model = spec
    with VLMCache(enabled=not getattr(explainer, "no_cache", False)) as cache:
        for section in report.sections:
            section.paragraph = ward_paragraph(explainer, section, report.lang, cache)
    return report
