"""The dashboard's catalogue is complete in both languages, and every key the code uses exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from core.report.strings import STRINGS
from dashboard.catalogue import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def problems(catalogue: dict[str, dict[str, str]]) -> list[str]:
    """Keys missing in a language, placeholders that differ, empty texts."""
    en, ja = catalogue["en"], catalogue["ja"]
    found = [f"missing in {'ja' if k in en else 'en'}: {k}" for k in sorted(set(en) ^ set(ja))]
    for key in sorted(set(en) & set(ja)):
        if _fields(en[key]) != _fields(ja[key]):
            found.append(f"placeholders differ: {key}")
        if not (en[key].strip() and ja[key].strip()):
            found.append(f"empty: {key}")
    return found


def test_both_languages_have_the_same_keys_and_placeholders():
    assert problems(CATALOGUE) == []


def test_a_key_missing_in_one_language_is_caught():
    broken = {"en": dict(CATALOGUE["en"]), "ja": dict(CATALOGUE["ja"])}
    del broken["ja"]["kw.word"]
    broken["en"]["ph.match"] = "{count} photos"
    assert problems(broken) == ["missing in ja: kw.word", "placeholders differ: ph.match"]


def test_every_key_the_dashboard_uses_is_in_the_catalogue():
    used: set[str] = set()
    for path in (ROOT / "dashboard").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\(\s*[\"']([a-z_]+\.[a-z_]+)[\"']", source))
        used |= {f"chart.{k}" for k in re.findall(r"\bT\(\"([a-z_]+)\"\)", source)}
    assert len(used) > 150
    missing = sorted(k for k in used if k not in CATALOGUE["en"])
    assert not missing, missing
    for prefix, names in {
        "page": ["overview", "keywords", "compare", "photos", "precompute", "report", "export"],
        "ph.order": ["_id", "_confidence", "_mistakes", "_random"],
        "ph": ["all", "correct", "incorrect"],
    }.items():
        for name in names:
            key = f"{prefix}{name}" if name.startswith("_") else f"{prefix}.{name}"
            assert key in CATALOGUE["en"], key


def test_japanese_ui_is_japanese():
    ja = CATALOGUE["ja"]
    assert ja["page.keywords"] == "キーワード" and ja["page.photos"] == "写真"
    kana_or_kanji = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    # CAM methods are shown by their names (Grad-CAM, Score-CAM), the same in every language
    names = [k for k in ja if k.startswith("value.method.")]
    assert names and all(ja[k] == CATALOGUE["en"][k] for k in names)
    foreign = [
        k for k, v in ja.items() if not kana_or_kanji.search(v) and k != "w.csv" and k not in names
    ]
    # a few are the same in both languages (n/m, ETA-like abbreviations, the CSV button)
    assert len(foreign) <= 3, foreign


def test_report_strings_complete_in_both_languages():
    assert set(STRINGS["en"]) == set(STRINGS["ja"])
    for key in STRINGS["en"]:
        assert _fields(STRINGS["en"][key]) == _fields(STRINGS["ja"][key]), key
