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
