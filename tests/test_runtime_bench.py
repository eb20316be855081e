"""benchmarks/bench_precompute.py: the costs it derives from a run's samples and child summary."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    path = ROOT / "benchmarks" / "bench_precompute.py"
    spec = importlib.util.spec_from_file_location("bench_precompute", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sample(t, done, cpu, job="precompute"):
    return {"t": t, "done": done, "rss_mb": 100.0, "cpu_s": cpu, "job": job}


def test_the_rate_after_the_first_batch_leaves_out_the_start_and_verify():
    bench = _bench()
    samples = [
        _sample(0.5, 0, 1.0),
        _sample(4.0, 16, 6.0),  # the first batch counted: model load and imports before it
        _sample(4.5, 16, 6.5),
        _sample(6.0, 48, 9.0),
        _sample(6.5, 48, 9.5),
        _sample(9.0, 48, 20.0, job="verify"),  # verify's samples do not count
    ]
    steady = bench._steady(samples, forward_s=0.01, forward_cpu=0.02)
    # 32 photos in 2.0 s and 3.0 CPU s after the first batch was counted
    assert steady == {
        "photos": 32,
        "photos_per_s": 16.0,
        "forwards_per_photo": pytest.approx(6.25),
        "forwards_per_photo_cpu": pytest.approx(4.69),
    }
    assert bench._steady(samples[:2], 0.01, 0.02) is None  # one batch: no rate


def test_verify_costs_in_reference_forwards():
    bench = _bench()
    row = bench._verify_row({"photo_words": 100, "s": 4.0, "cpu_s": 6.0, "words": 9}, 0.02, 0.03)
    assert row["photo_words_per_s"] == 25.0
    assert row["forwards_per_photo_word"] == 2.0  # 0.04 s per photo-word / 0.02 s per image
    assert row["forwards_per_photo_word_cpu"] == 2.0
    assert bench._verify_row(None, 0.02, 0.03) is None


def test_the_markdown_carries_cpu_ratios_verify_and_the_demo():
    bench = _bench()
    result = {
        "profile": "imagenet", "batch_size": 16, "runtime": "openvino", "threads": 1,
        "machine": {"cpus": 2, "load_avg_at_end": [1.0, 1.0, 1.0]}, "date": "today",
        "rows": [{
            "photos": 96, "photos_per_s": 10.0, "forward_images_per_s": [50.0, 50.0],
            "forwards_per_photo": 5.0, "forwards_per_photo_cpu": 4.0, "job_s": 9.6,
            "wall_s": 20.0, "peak_rss_mb": 1000.0, "rss_mb_at": {}, "db_mb": 7.0,
            "load_avg": [1, 1, 1, 1, 1, 1],
            "after_first_batch": {"photos": 80, "photos_per_s": 20.0, "forwards_per_photo": 2.5,
                                  "forwards_per_photo_cpu": 2.0},
            "verify": {"photo_words": 100, "s": 4.0, "photo_words_per_s": 25.0,
                       "forwards_per_photo_word": 2.0, "forwards_per_photo_word_cpu": 1.5},
        }],
        "demo": {"wall_s": 50.0, "seconds_before_dashboard": 42.0, "timings_s": {"verify": 9.0},
                 "cue_recovery": 1.0, "load_avg": [1, 1, 1, 1, 1, 1]},
    }  # fmt: skip
    text = bench.to_markdown(result)
    assert "threads 1" in text
    assert "| 96 | 5.0 / 4.0 | 20.0, 2.5 / 2.0 | 100, 4.0, 25.0 | 2.0 / 1.5 |" in text
    assert "42.0 s before the dashboard" in text
