"""Tokenization: Japanese content words in dictionary form, compounds, English lemmas."""

from __future__ import annotations

import pytest

from core.errors import DataError
from core.text import STOPWORDS_JA, lemmatize_en, tokenize, tokenize_many


def test_whole_words_not_fragments():
    tokens = tokenize("自転車専用道路のマークが見える")
    assert "自転" not in tokens
    assert any("自転車" in t for t in tokens)
    assert "マーク" in tokens
    assert "の" not in tokens and "が" not in tokens


def test_dictionary_forms_and_no_non_independent_verbs():
    tokens = tokenize("道路に面している建物")
    assert tokens == ["道路", "面す", "建物"]
    assert "面し" not in tokens and "いる" not in tokens


def test_passive_auxiliaries_dropped():
    tokens = tokenize("ガードレールが設置されている")
    assert tokens == ["ガードレール", "設置"]
    for fragment in ("られ", "れ", "れる", "さ", "する", "いる"):
        assert fragment not in tokens


def test_adjectives_and_compounds():
    tokens = tokenize("段ボール箱が多く積まれていた")
    assert tokens == ["段ボール箱", "多い", "積む"]
    assert "駐車場" in tokenize("駐車場と信号機が見える")
    assert "信号機" in tokenize("駐車場と信号機が見える")


def test_numbers_symbols_kana_noise_and_stopwords_dropped():
    tokens = tokenize("画像の領域に、3台の車と「ベンチ」が2024年にあることが分かる。ぁ")
    assert "車" in tokens and "ベンチ" in tokens
    for noise in ("3", "台", "2024", "年", "「", "、", "。", "画像", "領域", "こと", "ぁ"):
        assert noise not in tokens


def test_compounds_of_stop_words_are_stop_words():
    assert tokenize("モデルの注目は画像全体に薄く広がっている") == ["薄い", "広がる"]
    assert tokenize("画像左側の赤レンガ造りの建物") == ["左側", "赤レンガ造り", "建物"]
    assert tokenize("写真館と画像処理") == ["写真館", "画像処理"]
    assert "消防車" in tokenize("上部中央の領域は熱の45%を占め、消防車のように見えます。")


def test_user_stopwords_extend_defaults():
    assert "建物" in tokenize("古い建物")
    assert tokenize("古い建物", stopwords=["建物"]) == ["古い"]
    assert "する" in STOPWORDS_JA


def test_english_lemmas_and_stopwords():
    tokens = tokenize("The buildings and cars were parked while a dog was running.", lang="en")
    assert tokens == ["building", "car", "park", "dog", "run"]
    assert [
        lemmatize_en(w)
        for w in (
            "children",
            "boxes",
            "cities",
            "stopped",
            "making",
            "covered",
            "buses",
            "glass",
            "building",
            "red",
        )
    ] == ["child", "box", "city", "stop", "make", "cover", "bus", "glass", "building", "red"]
    assert tokenize("The image shows a tree", lang="en") == ["tree"]
    # sklearn's list has "fire" and "side": here they name things in photos
    assert tokenize("a fire engine by the side of the road", lang="en") == [
        "fire",
        "engine",
        "side",
        "road",
    ]


def test_tokenize_many_matches_tokenize_in_order():
    texts = [f"{w}が写っている。道路に面している。" for w in ("倉庫", "市場", "看板")] * 30
    texts[5] = ""
    expected = [tokenize(t) for t in texts]
    assert tokenize_many(texts, workers=2) == expected  # 90 texts: the process pool
    assert tokenize_many(texts[:4], workers=2) == expected[:4]  # in-process
    assert tokenize_many(texts, workers=1) == expected


def test_unknown_language():
    with pytest.raises(DataError, match="language"):
        tokenize("x", lang="fr")


@pytest.mark.slow
def test_bench_tokenize_quick():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_tokenize.py"
    spec = importlib.util.spec_from_file_location("bench_tokenize", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run_benchmark(quick=True)
    assert result["texts"] == 300 and result["single_process_docs_per_s"] > 0
