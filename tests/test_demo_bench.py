"""The demo's cue recovery, the faithfulness metrics and the end-to-end demo."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.lab.demo import cue_recovery, cue_words
from core.lab.faithfulness import FaithfulnessScores, deletion_insertion, flag_unfaithful
from core.mining import Keyword, MiningResult


class QuadrantModel(torch.nn.Module):
    """Class 0's logit grows with the texture energy of the top-left quadrant only."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2] // 2, x.shape[3] // 2
        evidence = (x[:, :, :h, :w] ** 2).mean(dim=(1, 2, 3)) * 8
        return torch.stack([evidence, torch.zeros_like(evidence)], dim=1)


def test_deletion_insertion_rank_a_faithful_map_above_an_unfaithful_one():
    batch = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    faithful = np.zeros((1, 32, 32), np.float32)
    faithful[0, :16, :16] = 1.0
    unfaithful = np.zeros((1, 32, 32), np.float32)
    unfaithful[0, 16:, 16:] = 1.0
    black = torch.zeros(3)
    d_good, i_good = deletion_insertion(QuadrantModel(), batch, faithful, [0], black, steps=16)
    d_bad, i_bad = deletion_insertion(QuadrantModel(), batch, unfaithful, [0], black, steps=16)
    assert d_good[0] < d_bad[0]
    assert i_good[0] > i_bad[0]
    assert 0.0 <= d_good[0] <= 1.0 and 0.0 <= i_good[0] <= 1.0


def test_flag_unfaithful_names_the_metrics_a_method_loses_on():
    rows = [
        FaithfulnessScores("gradcam", 4, deletion=0.1, insertion=0.7, road=0.2),
        FaithfulnessScores("eigencam", 4, deletion=0.3, insertion=0.7, road=0.0),
        FaithfulnessScores("random", 4, deletion=0.25, insertion=0.5, road=0.01),
        FaithfulnessScores("sobel", 4, deletion=0.2, insertion=0.6, road=0.05),
    ]
    flags = flag_unfaithful(rows)
    assert flags == {"gradcam": [], "eigencam": ["deletion", "road"]}


def _result(classes: dict[str, list[str]]) -> MiningResult:
    return MiningResult(
        classes={c: [Keyword(w, 1, 1, 1.0) for w in words] for c, words in classes.items()},
        text_accuracy=None,
        image_accuracy=None,
        baseline=0.5,
        documents=2,
        skipped=0,
        by="true",
    )


def test_cue_recovery_counts_a_class_when_a_name_of_its_object_is_in_its_top_words():
    cues = {
        "classes": [
            {"name": "中央区", "object": {"name": "cat"}},
            {"name": "港区", "object": {"name": "rocket"}},
        ]
    }
    names = {"cat": ["猫", "トラ猫"], "rocket": ["ロケット", "ミサイル"]}
    result = _result({"中央区": ["茶色", "トラ猫"], "港区": ["青", "赤"]})
    rec = cue_recovery(result, cues, names, top=10)
    assert rec["cue_recovery"] == 0.5
    assert rec["per_class"]["中央区"]["hits"] == ["トラ猫"]
    assert rec["per_class"]["中央区"]["rank"] == 2
    assert rec["per_class"]["港区"]["recovered"] is False
    # only the top-N words count
    assert cue_recovery(result, cues, names, top=1)["cue_recovery"] == 0.0


def test_cue_words_are_the_tokens_the_miner_would_see():
    words = cue_words(["コーヒーカップ", "エスプレッソ"])
    assert {"コーヒーカップ", "エスプレッソ"} <= words


@pytest.mark.slow
def test_demo_end_to_end_writes_summary_with_cue_recovery(tmp_path):
    from core.cli import main

    rc = main(
        [
            "demo",
            "--out",
            str(tmp_path / "demo"),
            "--no-dashboard",
            "--per-class",
            "24",
            "--epochs",
            "15",
        ]
    )
    assert rc == 0
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text(encoding="utf-8"))
    assert 0.0 <= summary["cue_recovery"] <= 1.0
    assert set(summary["cue_recovery_per_class"]) == {
        "中央区",
        "千代田区",
        "新宿区",
        "江東区",
        "渋谷区",
    }
    assert summary["documents"] > 0
    db = tmp_path / "demo" / "wordcam.duckdb"
    assert db.is_file()
    # the ward report of the demo's own DB, in both languages, one offline file each
    for lang, heading in (("ja", "中央区"), ("en", "中央区")):
        out = tmp_path / f"report_{lang}.html"
        assert main(["report", "--db", str(db), "--out", str(out), "--lang", lang]) == 0
        html = out.read_text(encoding="utf-8")
        assert heading in html and "data:image/" in html
        assert "http://" not in html and "https://" not in html  # nothing fetched from outside
    md = tmp_path / "report.md"
    assert main(["report", "--db", str(db), "--out", str(md), "--lang", "en"]) == 0
    assert "中央区" in md.read_text(encoding="utf-8")
