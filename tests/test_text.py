"""Tokenization: Japanese content words in dictionary form, compounds, English lemmas."""

from __future__ import annotations

import pytest

from core.errors import DataError
from core.text import (
    STOPWORDS_JA,
    TOKENIZER_VERSION,
    lemmatize_en,
    phrase_matcher,
    tokenize,
    tokenize_many,
)


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
    assert tokenize("a fire by the side of the road", lang="en") == ["fire", "side", "road"]
    # (was ["fire", "engine", ...]: "fire engine" is an ImageNet name, now one term)
    assert tokenize("a fire engine by the side of the road", lang="en") == [
        "fire engine",
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


# Terms (issue 15): whole names, library lemmas, no punctuation, no words about the heatmap.

GPT4V_JA = """この画像は渋谷区と判断されました。主な根拠は以下の通りです。
・店舗: GradCAMの画像で1階の店舗部分が赤く強調されています。
・屋根の構造: 屋根部分が赤く強調されており、波型の屋根が特徴的です。
・配管（設備）: 外壁の配管がヒートマップ上で赤色で示されています。重要度が高い領域です。
・車両: 歩道の横に自転車が停まっている様子が注目されています。"""

GPT4V_EN = """The model classified this image as a street scene. Key evidence:
- Bicycle lane marking: In the Grad-CAM heatmap, the bicycle lane marking on the asphalt is
  highlighted in red, suggesting the model relies on it.
- Parked moped: The moped by the curb is shown in red and yellow in the overlay.
- Storefront: The sign above the entrance is exposed to sunlight; the attention is focused there.
- A man in a trench coat walks past a wave-shaped awning."""

HEATMAP_WORDS = (
    "gradcam", "grad-cam", "grad", "cam", "heatmap", "overlay", "attention", "highlight", "focus",
    "ヒートマップ", "強調", "重要度", "重要", "注目", "GradCAM", "Grad-CAM",
)  # fmt: skip


def test_gpt4v_style_answer_ja():
    tokens = tokenize(GPT4V_JA)
    for term in ("店舗", "屋根", "構造", "配管", "設備", "外壁", "歩道", "自転車", "停まる"):
        assert term in tokens
    assert not [t for t in tokens if any(p in t for p in ":：（）()・")]  # 店舗: -> 店舗
    for word in (*HEATMAP_WORDS, "赤い", "赤", "赤色", "停る", "まつ"):
        assert word not in tokens  # 赤く強調 is the overlay's colour, not the shop's


def test_gpt4v_style_answer_en():
    tokens = tokenize(GPT4V_EN, lang="en")
    for term in ("bicycle lane marking", "moped", "curb", "trench coat", "wave-shaped", "expose"):
        assert term in tokens
    for word in (*HEATMAP_WORDS, "red", "yellow", "bicycle", "lane", "marking", "mark", "trench"):
        assert word not in tokens
    assert tokenize("The car is red.", lang="en") == ["car", "red"]  # the photo's colour stays


def test_multiword_names_stay_whole():
    assert tokenize("A man in a trench coat", lang="en") == ["man", "trench coat"]
    assert tokenize("Two trench coats and an Egyptian cat", lang="en") == [
        "trench coat",
        "egyptian cat",
    ]
    assert "sea anemone" in tokenize("sea anemones on a rock", lang="en")
    assert "kerry blue terrier" in tokenize("a Kerry Blue Terrier runs", lang="en")
    # longest match first: "great white shark", not "white shark"
    assert tokenize("a great white shark", lang="en") == ["great white shark"]
    # the model's own labels (folder names too) join the ImageNet names
    assert tokenize("a cargo bike here", lang="en", phrases=["cargo_bike"]) == ["cargo bike"]
    assert (
        tokenize_many(["cargo bikes"] * 70, lang="en", phrases=["cargo bike"])
        == [["cargo bike"]] * 70
    )


def test_every_imagenet_name_stays_whole_in_a_sentence():
    from core.text import imagenet_names

    for name in imagenet_names("en"):
        if " " in name:
            assert name.lower() in tokenize(f"There is a {name} here.", lang="en"), name
    for name in imagenet_names("ja"):
        assert name in tokenize(f"ここに{name}がある。"), name  # ゆりかご, not ゆる + かご


def test_japanese_names_janome_splits_stay_whole():
    assert "ケリー・ブルー・テリア" in tokenize("ケリー・ブルー・テリアが座っている")
    assert "ケリー・ブルー・テリア" in tokenize("ケリーブルーテリアが座っている")
    assert "公園のベンチ" in tokenize("公園のベンチに座る")
    assert tokenize("自動車のミラーが光る") == ["自動車", "ミラー", "光る"]  # not 車のミラー
    assert tokenize("スカイツリー・タワーがある", phrases=["スカイツリー・タワー"]) == [
        "スカイツリー・タワー"
    ]


def test_library_lemmas():
    assert [lemmatize_en(w) for w in ("moped", "focused", "exposed", "triceratops")] == [
        "moped",
        "focus",
        "expose",  # the verb's lemma, like parked -> park and covered -> cover
        "triceratops",
    ]
    assert tokenize("two mopeds and a triceratops", lang="en") == ["moped", "triceratops"]
    # focus is a word about the explanation (a stop word): never "focuse"
    assert tokenize("The lens was focused on the exposed pipes", lang="en") == [
        "lens",
        "expose",
        "pipe",
    ]


def test_japanese_verb_dictionary_form():
    assert tokenize("車が停まっている") == ["車", "停まる"]
    assert tokenize("バイクが停まった") == ["バイク", "停まる"]
    assert tokenize("車が止まっている") == ["車", "止まる"]
    for form in ("停まる車", "停まれ", "停まらない", "停まります", "停まろう"):
        assert tokenize(form)[0] == "停まる" and "停る" not in tokenize(form)
    assert tokenize("駐まっている") == ["駐まる"]
    assert tokenize("停留所と駐車場") == ["停留所", "駐車場"]  # other words with 停/駐 untouched


def test_punctuation_and_hyphens():
    assert tokenize("店舗: 看板") == ["店舗", "看板"]
    assert tokenize("【店舗】「看板」") == ["店舗", "看板"]
    assert tokenize("・店舗：看板") == ["店舗", "看板"]  # full-width colon, bullet
    assert tokenize("signs: a wave-shaped roof.", lang="en") == ["sign", "wave-shaped", "roof"]


def test_tokenizer_version_and_matcher_cached():
    assert TOKENIZER_VERSION >= 2
    assert phrase_matcher("en") is phrase_matcher("en")


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
