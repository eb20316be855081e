"""Issue 23's CLI findings: ``wordcam verify --help`` prints 95%, ``mine --examples`` follows
--lang (the dashboard's words and the CLI's agree on one language at a time)."""

from __future__ import annotations

import pytest
from synthetic_db import make_db

from core.cli import main


def test_verify_help_prints_a_plain_percent(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    out = capsys.readouterr().out
    assert "95% interval" in out and "%%" not in out


def test_mine_examples_follow_the_language(tmp_path, capsys):
    db = make_db(tmp_path / "w.duckdb", n_images=120)
    assert (
        main(["mine", "--db", str(db), "--examples", "密集", "--limit", "2", "--lang", "ja"]) == 0
    )
    ja = capsys.readouterr().out
    assert "/ 予測 " in ja and "predicted" not in ja
    assert (
        main(["mine", "--db", str(db), "--examples", "密集", "--limit", "2", "--lang", "en"]) == 0
    )
    assert "/ predicted " in capsys.readouterr().out


def test_mine_examples_list_the_most_confident_photos_first(tmp_path, capsys):
    """Issue 23: ``--examples`` listed photos in file order without probabilities."""
    import csv
    import io

    import duckdb

    db = make_db(tmp_path / "w.duckdb", n_images=120)
    assert main(["mine", "--db", str(db), "--examples", "密集", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    probs = [float(r["pred_prob"]) for r in rows]
    assert len(probs) >= 3 and probs == sorted(probs, reverse=True)
    with duckdb.connect(str(db), read_only=True) as con:
        stored = dict(
            con.execute("SELECT CAST(image_id AS VARCHAR), pred_prob FROM images").fetchall()
        )
    assert all(abs(stored[r["doc_id"]] - float(r["pred_prob"])) < 1e-9 for r in rows)
    assert [int(r["doc_id"]) for r in rows] != sorted(int(r["doc_id"]) for r in rows)
    assert (
        main(["mine", "--db", str(db), "--examples", "密集", "--limit", "1", "--lang", "en"]) == 0
    )
    assert f"{probs[0]:.1%}" in capsys.readouterr().out


def test_demo_reports_its_verification_when_some_photos_did_not_count(monkeypatch, capsys):
    """A verification's ``skipped`` is a count of photos that did not count; the demo printed
    "verification skipped: 311" (read as the reason it did not run) instead of the result."""
    import core.lab.demo

    summary = {
        "table_markdown": "| 順位 |",
        "cue_recovery": 1.0,
        "cue_verified": 1.0,
        "verification": {"words": [{}] * 4, "causal": 3, "fill": "mean", "skipped": 311},
        "cue_recovery_per_class": {},
        "db": "w.duckdb",
    } | dict.fromkeys(
        ("image_accuracy", "text_accuracy", "baseline", "validation_top1", "holdout_top1")
        + ("wrong_top_names", "seconds_before_dashboard"),
        0.5,
    )
    monkeypatch.setattr(core.lab.demo, "run_demo", lambda *a, **k: summary)
    assert main(["demo", "--no-dashboard", "--out", "unused"]) == 0
    out = capsys.readouterr().out
    assert "verification skipped" not in out and "3 of 4 words causal" in out
    summary["verification"] = {"skipped": "no word regions"}
    assert main(["demo", "--no-dashboard", "--out", "unused"]) == 0
    assert "verification skipped: no word regions" in capsys.readouterr().out
