"""The planted-cue suite: its grid, measures, table, shared crop passes, and one tiny cell."""

from __future__ import annotations

import json

import pytest
import torch

from core.lab.suite import (
    QUICK,
    Prepared,
    RememberingModule,
    Setting,
    SuiteSettings,
    dataset_options,
    measure,
    run_suite,
)
from core.lab.suite_report import suite_markdown, summary_rows
from core.lab.synth import BACKGROUNDS, PHOTO_BACKGROUNDS


def test_grid_and_dataset_options():
    full = SuiteSettings()
    assert len(full.grid()) == 2 * 3 * 2 * 3  # backgrounds x sizes x distractors x seeds
    assert len(QUICK.grid()) == 12 and QUICK.seeds == (0,)
    photos = dataset_options(Setting("photos", 0.3, False, 2), full)
    assert photos["backgrounds"] is PHOTO_BACKGROUNDS
    assert photos["distractor_rate"] == 0.0 and photos["shortcut_class"] is None
    assert photos["object_scale"] == (0.25, 0.35) and photos["seed"] == 2
    textures = dataset_options(Setting("textures", 0.15, True, 0), full)
    assert textures["backgrounds"] is BACKGROUNDS and textures["distractor_rate"] == 0.3
    with pytest.raises(ValueError):
        dataset_options(Setting("clouds", 0.3, True, 0), full)


def test_the_remembering_module_answers_a_repeated_batch_from_memory():
    calls = []

    class Counting(torch.nn.Module):
        def forward(self, x):
            calls.append(1)
            return x.sum(dim=(1, 2, 3))

    module = RememberingModule(Counting(), keep=2)
    a, b, c = (torch.full((2, 3, 4, 4), v) for v in (1.0, 2.0, 3.0))
    first = module(a)
    assert torch.equal(module(a.clone()), first) and len(calls) == 1
    module(b), module(c)  # a is forgotten: only the last two are kept
    assert torch.equal(module(a), first) and len(calls) == 4


def _prepared(labels, has_object):
    cues = {
        "classes": [
            {"name": "A", "object": {"name": "cat"}},
            {"name": "B", "object": {"name": "rocket"}},
        ]
    }
    return Prepared(
        views=[], cams=None, labels=labels, predicted=labels, has_object=has_object, cues=cues
    )


def test_measure_counts_names_of_the_planted_object_only_where_it_was_planted():
    labels = ["A"] * 4 + ["B"] * 4
    has_object = [True, True, True, False, True, True, True, True]
    texts = [
        "A tabby cat on grass.",
        "A tabby cat in the sun.",
        "A blue wall.",
        "A tabby cat again.",  # no cat was planted here: not counted either way
        "A missile at night.",
        "A blue wall.",
        "A blue sky.",
        "A grey stone.",
    ]
    names = {"cat": ["cat", "tabby"], "rocket": ["rocket", "missile"]}
    recovery, naming, per_class, _ = measure(
        _prepared(labels, has_object), texts, names, "en", top=10
    )
    assert per_class["A"]["naming_accuracy"] == pytest.approx(2 / 3)
    assert per_class["B"]["naming_accuracy"] == pytest.approx(1 / 4)
    assert naming == pytest.approx((2 / 3 + 1 / 4) / 2)
    assert per_class["A"]["recovered"] and "tabby" in per_class["A"]["top_words"]
    assert recovery == per_class["A"]["recovered"] / 2 + per_class["B"]["recovered"] / 2


def _report(recovery: float) -> dict:
    row = {
        "background": "photos",
        "size": 0.3,
        "distractors": True,
        "lang": "en",
        "seeds": 1,
        "cue_recovery": recovery,
        "naming_accuracy": 0.5,
        "text_accuracy": 0.9,
        "image_accuracy": 1.0,
    }
    return {
        "rows": [row],
        "cells": [{}],
        "photos_explained": 10,
        "suite": {"langs": ["en"]},
        "seconds": 1.0,
        "cpu_seconds": 2.0,
        "cpus": 2,
        "timings_s": {"prepare": 0.5, "explain": 0.3, "mine": 0.1},
        "load_average": [1.0, 1.0, 1.0],
    }


def test_the_table_shows_before_and_after():
    text = suite_markdown(_report(1.0), before=_report(0.6))
    assert "| photos | 30% | on | en | 1 | 0.60 -> 1.00 | 0.50 -> 0.50 |" in text
    assert "load average at the end 1.00, 1.00, 1.00" in text
    assert "0.60" not in suite_markdown(_report(1.0))


def test_summary_rows_average_over_seeds():
    from core.lab.suite import CellResult

    cells = [
        CellResult(Setting("photos", 0.3, True, s), "ja", r, n, text_accuracy=None)
        for s, r, n in ((0, 1.0, 0.5), (1, 0.6, 0.25))
    ]
    (row,) = summary_rows(cells)
    assert row["seeds"] == 2 and row["cue_recovery"] == 0.8 and row["naming_accuracy"] == 0.375
    assert row["text_accuracy"] is None


@pytest.mark.slow
def test_one_tiny_cell_end_to_end(tmp_path):
    suite = SuiteSettings(
        sizes=(0.5,),
        backgrounds=("photos",),
        distractors=(False,),
        langs=("en", "ja"),
        seeds=(0,),
        n_classes=2,
        per_class=4,
        val_per_class=3,
        epochs=2,
    )
    report = run_suite(suite, work=tmp_path)
    assert [(r["lang"], r["seeds"]) for r in report["rows"]] == [("en", 1), ("ja", 1)]
    for cell in report["cells"]:
        assert 0.0 <= cell["cue_recovery"] <= 1.0 and 0.0 <= cell["naming_accuracy"] <= 1.0
        assert set(cell["per_class"]) == {"中央区", "千代田区"}
    assert json.loads(json.dumps(report, default=str))["photos_explained"] == 6
    again = run_suite(suite, work=tmp_path)  # from the cached CAMs: the same numbers
    assert again["rows"] == report["rows"]


def test_naming_precision_counts_names_of_what_is_in_the_photo():
    from core.lab.suite import naming_precision

    details = [
        {"regions": [{"candidates": [{"label": "tabby"}, {"label": "nematode"}]}]},
        {"regions": [{"candidates": [{"label": "animal"}]}]},  # no object in this photo
        {"regions": [{"candidates": []}]},
        {},
    ]
    present = [["cat"], [], ["cat"], ["cat"]]
    vocabulary = {"cat": {"cat", "tabby", "animal"}}
    assert naming_precision(details, present, vocabulary) == (pytest.approx(1 / 3), 3)
    assert naming_precision([{}], [[]], vocabulary) == (None, 0)


def test_wrong_names_in_the_top_words_name_neither_the_object_nor_a_distractor():
    from core.lab.suite import wrong_top_names

    prepared = _prepared(["A", "B"], [True, True])
    prepared.cues["distractors"] = [{"name": "flag"}]
    per_class = {
        "A": {"top_words": ["tabby", "nematode", "blue", "flagpole"]},
        "B": {"top_words": ["missile", "tabby", "nematode"]},
    }
    given = ["tabby", "nematode", "missile", "flagpole"]
    details = [{"regions": [{"candidates": [{"label": g} for g in given]}]}]
    vocabulary = {"cat": {"tabby"}, "rocket": {"missile"}, "flag": {"flagpole"}}
    assert wrong_top_names(details, per_class, prepared, vocabulary, "en") == 3
    assert per_class["A"]["wrong_top_names"] == ["nematode"]
    assert per_class["B"]["wrong_top_names"] == ["tabby", "nematode"]


def test_the_demo_counts_wrong_object_names_in_each_wards_top_words(monkeypatch):
    from types import SimpleNamespace

    import core.lab.suite as suite
    from core.lab import demo

    cues = {
        "classes": [
            {"name": "A", "object": {"name": "cat"}},
            {"name": "B", "object": {"name": "rocket"}},
        ],
        "distractors": [{"name": "flag"}],
    }

    def kw(word, kind):
        return SimpleNamespace(word=word, kind=kind)

    result = SimpleNamespace(
        classes={
            "A": [kw("tabby", "object"), kw("red", "colour"), kw("nematode", "object")],
            "B": [kw("missile", "object"), kw("matchstick", "object"), kw("flagpole", "object")],
        }
    )
    vocabulary = {"cat": {"tabby"}, "rocket": {"missile"}, "flag": {"flagpole"}}
    monkeypatch.setattr(suite, "photo_vocabulary", lambda lang: vocabulary)
    wrong = demo.wrong_top_names(result, cues, "en", top=3)
    assert wrong == {"A": ["nematode"], "B": ["matchstick"]}  # red is no object name
    assert demo.wrong_top_names(result, cues, "en", top=1) == {"A": [], "B": []}


def test_the_calibration_counts_a_cell_as_held_within_one_document():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "naming_calibration.py"
    spec = importlib.util.spec_from_file_location("naming_calibration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    one = 1 / 60
    changes = [0.0, -one, one, -one - 0.001, one + 0.001, -0.05]
    assert module.held_counts(changes, [60] * 6) == (1, 3, 2)
    assert module.held_counts([-0.01], [150]) == (0, 0, 1)  # 1.5 documents of 150
