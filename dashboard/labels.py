"""Names in the screen's language: class names (:mod:`core.report.names`, shared with the
report) and stored values (a run's kind and status, a label source) through :func:`value`."""

from __future__ import annotations

import re

from core.report.names import localized, namer

__all__ = ["job_message", "localized", "namer", "status", "value", "verdict_label"]


def value(field: str, raw: object) -> str:
    """A stored value (``status`` ``done``, ``kind`` ``images``, ``by`` ``true``) in the screen's
    language: the catalogue's ``value.<field>.<raw>``, else the value as stored (data)."""
    from dashboard.catalogue import CATALOGUE
    from dashboard.i18n import lang

    if raw is None or raw == "":
        return "—"
    return CATALOGUE[lang()].get(f"value.{field}.{raw}", str(raw))


_SUMMARY = re.compile(r"^(\d+) done, (\d+) failed, (\d+) already done$")


def status(raw: object) -> str:
    """A job status (``running``, ``done, finishing``) in the screen's language."""
    return ", ".join(value("status", part.strip()) for part in str(raw or "").split(","))


def job_message(raw: object) -> str:
    """The job's last message: its end-of-job summary in the screen's language, else as is."""
    from dashboard.i18n import t

    found = _SUMMARY.match(str(raw or "").strip())
    if found is None:
        return str(raw or "")
    done, failed, skipped = found.groups()
    return t("pc.summary_message", done=done, failed=failed, skipped=skipped)


#: The catalogue key of each of the four states (core.store.effects.VERDICTS).
VERDICT_KEYS = {
    "causal": "verify.causal",
    "no effect shown": "verify.no_effect",
    "too few photos": "verify.too_few",
    "not tested": "verify.not_tested",
}


def verdict_label(state: object, lang: str | None = None) -> str:
    """A word's verification state in the screen's language (or ``lang``), naming the test
    that judged it: ``✓ causal (hiding)``, ``no effect shown (colour)``, ``too few photos
    (moving)``, ``not tested``."""
    from core.mining.effects import row_test, state_of
    from dashboard.i18n import lang as screen_lang
    from dashboard.i18n import text

    lang = lang or screen_lang()
    verdict = text(VERDICT_KEYS[state_of(state)], lang)
    test = row_test(state)
    if test is None:
        return verdict
    return text("verify.with_test", lang, verdict=verdict, test=text(f"verify.test_{test}", lang))


_SKIPS = (
    (re.compile(r"^no area of the same size and place elsewhere in the photo$"), "no_control"),
    (re.compile(r"^no free place to move the word's regions to$"), "no_room"),
    (re.compile(r"^the word's regions cover (?P<share>\d+%) of the photo$"), "covers"),
)


def skip_reason(raw: object) -> str:
    """Why verify did not count a photo (stored in English by ``core.verify``), in the screen's
    language; a reason this table does not know is shown as stored (Markdown-escaped)."""
    from dashboard.i18n import t
    from dashboard.text import escape_markdown

    for pattern, key in _SKIPS:
        found = pattern.match(str(raw or "").strip())
        if found:
            return t(f"verify.skip_{key}", **found.groupdict())
    return escape_markdown(str(raw or ""))
