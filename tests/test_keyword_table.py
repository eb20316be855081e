"""The one keyword-table service (core.mining.keyword_table) and the one settings object.

The CLI, the dashboard's miner and the report get the same table (and the same verified
words) for the same settings, and the miner's defaults live in MiningSettings only.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from synthetic_db import make_db

from core.mining import DEFAULTS, NOT_TESTED, MiningSettings, keyword_table
from core.store import StoreWriter
from core.store.effects import WordEffect, write_effect
from core.store.reader import db_version

ROOT = Path(__file__).resolve().parents[1]
TRUE_KEY = json.dumps({"by": "true", "fill": "road", "seed": 0}, sort_keys=True)
PRED_KEY = json.dumps({"by": "predicted", "fill": "blur", "seed": 1}, sort_keys=True)


def _effect(cls: str, word: str, effect: float, causal: bool, by: str) -> WordEffect:
    verdict = "causal" if causal else "no effect shown"
    low = effect - 0.02 if causal else -0.05
    return WordEffect(
        cls, word, 9, effect, low, effect + 0.02, 0.01, 0.02, verdict, "road", "c", by=by
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """A run with stored keyword tables and verified words by true and by predicted label."""
    path = make_db(tmp_path_factory.mktemp("kt") / "kt.duckdb", n_images=300)
    by_true = keyword_table(path)
    by_pred = keyword_table(path, settings=MiningSettings(by="predicted"))
    with StoreWriter(path) as w:
        for ci, (cls, kws) in enumerate(by_true.classes.items()):
            for i, kw in enumerate(kws[:3]):
                effect = _effect(cls, kw.word, 0.1 * (i + 1) + 0.01 * ci, i != 1, "true")
                write_effect(w.con, 1, TRUE_KEY, effect)
        for cls, kws in by_pred.classes.items():
            write_effect(w.con, 1, PRED_KEY, _effect(cls, kws[0].word, 0.3, True, "predicted"))
    return path


def _cli(db: Path, *args: str) -> dict:
    from core.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["mine", "--db", str(db), "--format", "json", *args]) == 0
    return json.loads(out.getvalue())


def _dashboard(db: Path, settings: MiningSettings):
    pytest.importorskip("streamlit")
    from dashboard import miner

    path, mtime = db_version(db)
    key = miner.FitKey(path, mtime, 1, "ja", replace(settings, top=miner.MINE_TOP))
    return miner.mining(key).select(settings.top)


def _words(result) -> dict[str, list[tuple]]:
    return {
        c: [(k.word, k.n, k.m, round(k.weight, 9), k.verification) for k in kws]
        for c, kws in result.classes.items()
    }


@pytest.mark.parametrize(
    "settings",
    [
        DEFAULTS,  # the stored table
        MiningSettings(by="predicted", top=5),  # the stored table by predicted label
        MiningSettings(min_df=3, stopwords=("道路",), top=7),  # no stored table: a fit
    ],
    ids=["stored", "stored-predicted", "fit"],
)
def test_cli_dashboard_and_report_get_the_same_table(db, settings):
    table = keyword_table(db, None, settings)
    assert table.has_effects  # the run's verified words are attached for either label source
    args = ["--top", str(settings.top), "--by", settings.label_source]
    args += ["--min-df", str(settings.min_df)]
    if settings.stopwords:
        args += ["--stopwords", ",".join(settings.stopwords)]
    assert _cli(db, *args) == json.loads(table.to_json())

    shown = _dashboard(db, settings)
    assert _words(shown) == _words(table)
    assert shown.verification == table.verification
    if settings == DEFAULTS:  # the stored table carries its cross-validated accuracy
        assert shown.text_accuracy == table.text_accuracy is not None

    if settings.label_source == "true" and settings.min_df == DEFAULTS.min_df:
        from core.report import build_report
        from core.report.collect import effect_text

        report = build_report(db, top=settings.top, photos=0)
        for section in report.sections:
            expected = [
                (k.word, k.n, k.m, effect_text(k.verification, report.lang))
                for k in table.classes[section.ward]
            ]
            assert [(w.word, w.n, w.m, w.effect) for w in section.words] == expected
        assert any(w.effect for s in report.sections for w in s.words)


def test_a_word_without_a_verification_is_not_tested_never_none(db):
    table = keyword_table(db)
    states = [k.verification for kws in table.classes.values() for k in kws]
    assert NOT_TESTED in states and all(s is not None for s in states)
    untested = next(
        k for kws in table.classes.values() for k in kws if k.verification is NOT_TESTED
    )
    assert (untested.effect, untested.verdict, untested.verified) == (None, None, False)
    assert untested.cell() == f"{untested.word}({untested.n}/{untested.m})"
    tested = next(k for kws in table.classes.values() for k in kws if k.tests)
    assert isinstance(tested.verification, WordEffect) and tested.verified


def test_the_dashboard_by_predicted_label_shows_the_predicted_verification(db, monkeypatch):
    """The Keywords page by predicted label ("pred" in the dashboard) shows the verification
    stored by label source "predicted" (it asked the store for "pred" and found none)."""
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=90)
    at.query_params.update({"lang": "en", "run": "1", "by": "pred"})
    at.switch_page("views/keywords.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert {"effect", "95% interval low", "95% interval high", "verified"} <= set(table.columns)
    assert (table["verified"].str.startswith("✓ causal")).sum() >= 1


_PATCHED = """
import sys
from dataclasses import fields
import core.mining.settings as s

changed = {"top": 6, "min_df": 7, "cv": 3, "seed": 4}
s.MiningSettings.__init__.__defaults__ = tuple(
    changed.get(f.name, f.default) for f in fields(s.MiningSettings)
)
s.DEFAULTS = s.MiningSettings()

import inspect
from core.cli import build_parser
from core.mining import contrast, mine
from core.report.collect import _settings
from dashboard.settings import CV_FOLDS, mining_settings

args = build_parser().parse_args(["mine"])
cli = {k: getattr(args, k) for k in ("top", "min_df", "cv", "seed")}
sig = inspect.signature(mine).parameters
print(repr({
    "cli": cli,
    "mine": {k: sig[k].default for k in ("top", "min_df", "cv", "seed")},
    "contrast": inspect.signature(contrast).parameters["min_df"].default,
    "dashboard": [mining_settings().top, mining_settings().min_df, CV_FOLDS],
    "report": dict(_settings({}, "en", s.DEFAULTS))["minimum document frequency"],
}))
"""


def test_changing_the_defaults_in_mining_settings_changes_every_reader():
    """No reader keeps a default of its own: new defaults reach the CLI, mine(), contrast(),
    the dashboard and the report."""
    pytest.importorskip("streamlit")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _PATCHED], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    found = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 (our own repr)
    assert found == {
        "cli": {"top": 6, "min_df": 7, "cv": 3, "seed": 4},
        "mine": {"top": 6, "min_df": 7, "cv": 3, "seed": 4},
        "contrast": 7,
        "dashboard": [6, 7, 3],
        "report": "7",
    }


#: The Photos page's word list reads the store's vocabulary (every term: ``min_df=1``), which
#: is the term matrix's, not a keyword table's setting (nor are core.store's own functions).
VOCABULARY_READERS = {"q_vocabulary"}


def test_no_mining_default_is_written_outside_the_settings():
    """The ``min_df``/``cv`` defaults of the miner's readers are DEFAULTS', not literals."""
    import ast

    files = [*(ROOT / "core").rglob("*.py"), *(ROOT / "dashboard").rglob("*.py")]
    files += [*(ROOT / "benchmarks").glob("*.py")]
    found = []
    for path in files:
        if path.parent.name == "store" or path.name == "settings.py" and "mining" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name not in VOCABULARY_READERS:
                a = node.args
                named = list(zip(a.args[len(a.args) - len(a.defaults) :], a.defaults, strict=True))
                named += [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d]
                found += [
                    f"{path.relative_to(ROOT)}:{node.lineno} {arg.arg}"
                    for arg, default in named
                    if arg.arg in ("min_df", "cv") and isinstance(default, ast.Constant)
                ]
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                flags = [c.value for c in node.args if isinstance(c, ast.Constant)]
                for kw in node.keywords:
                    literal = kw.arg == "default" and isinstance(kw.value, ast.Constant)
                    if literal and {"--min-df", "--cv"} & set(flags):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {flags}")
    assert not found, found
