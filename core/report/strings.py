"""The report's text in both languages (the same keys in each; a test checks).

The lookup rule is :func:`core.languages.lookup`'s, shared with the dashboard: a missing key
raises ``KeyError``, an unknown language ``ValueError``; nothing falls back silently.
"""

from __future__ import annotations

from core.languages import lookup

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "wordcam ward report",
        "run": "Run #{run}",
        "settings": "Settings",
        "setting": "setting",
        "value": "value",
        "accuracies": "Accuracy",
        "image_accuracy": "Image model (pred = true)",
        "text_accuracy": "Words → label (cross-validated)",
        "baseline": "Majority baseline",
        "documents": "Documents mined",
        "contents": "Wards",
        "ward_docs": "{n} explanations · image model recall {recall}",
        "rank": "#",
        "word": "word",
        "nm": "n/m",
        "coefficient": "coefficient",
        "effect": "verified effect",
        "causal": "✓ causal",
        "too_few": "too few photos",
        "not_tested": "not tested",
        "with_test": "{verdict} ({test})",
        "test_hide": "hiding",
        "test_colour": "colour",
        "test_move": "moving",
        "no_effect": "no effect shown",
        "effect_note": "Verified effect: drop of the ward's probability with the word's regions hidden, minus a same-area control elsewhere (95% interval); ✓ causal when the interval is above zero after Benjamini-Hochberg (wordcam verify).",
        "sentences": "Sentences",
        "photos": "Example photos",
        "input": "input",
        "overlay": "CAM overlay",
        "true_pred": "true {true} · predicted {pred} ({prob})",
        "no_photos": "no photo with this word",
        "no_words": "no word with a positive coefficient",
        "paragraph": "Summary by {model}",
        "generated": "Generated {time} from {db}",
        "model": "model",
        "explainer": "explainer",
        "mode": "mode",
        "method": "CAM method",
        "lang": "language",
        "source": "source",
        "created_at": "created",
        "min_df": "minimum document frequency",
        "label_source": "label",
        "nm_note": "n/m: explanations of the ward containing the word / all explanations "
        "containing it; coefficient: logistic regression words → ward.",
        "vlm_prompt": "You are helping analysts who study what an image classifier learned. "
        'For the class "{ward}", these words in the model\'s explanations predict the class '
        "(word, n/m = explanations of the class with the word / all with the word, "
        "coefficient):\n{table}\nSentences around them:\n{sentences}\nThe attached images are "
        "example photos of the class with their Grad-CAM overlays. In 2-3 sentences of plain "
        "English, say what the words turned out to mean on the photos.",
        "region_of": "region of {obj}",
        "ward_prob": "{ward} {prob}",
        "verify_pictures": "Hiding the word's regions: probability of the ward",
        "pic_before": "photo {p}",
        "pic_hidden": "{word} hidden {p}",
        "pic_control": "control {p}",
        "images_note": "Pictures: the files in {folder}/ beside this file.",
    },
    "ja": {
        "title": "wordcam 区ごとのレポート",
        "run": "実行 #{run}",
        "settings": "設定",
        "setting": "設定",
        "value": "値",
        "accuracies": "正解率",
        "image_accuracy": "画像モデル(予測 = 正解)",
        "text_accuracy": "単語 → ラベル(交差検証)",
        "baseline": "多数派ベースライン",
        "documents": "分析した文書数",
        "contents": "区",
        "ward_docs": "説明文 {n} 件 · 画像モデルの再現率 {recall}",
        "rank": "#",
        "word": "単語",
        "nm": "n/m",
        "coefficient": "係数",
        "effect": "検証された効果",
        "causal": "✓ 因果的",
        "too_few": "写真が少なすぎる",
        "not_tested": "未検証",
        "with_test": "{verdict}({test})",
        "test_hide": "隠す",
        "test_colour": "色",
        "test_move": "移動",
        "no_effect": "効果は示されず",
        "effect_note": "検証された効果: 語の領域を隠したときの区の確率の低下から、同じ面積の別の場所を隠したときの低下を引いた値(95%区間)。Benjamini-Hochberg 補正後も区間が0より上なら ✓ 因果的(wordcam verify)。",
        "sentences": "前後の文",
        "photos": "写真の例",
        "input": "入力",
        "overlay": "CAM オーバーレイ",
        "true_pred": "正解 {true} · 予測 {pred} ({prob})",
        "no_photos": "この単語を含む写真はありません",
        "no_words": "係数が正の単語はありません",
        "paragraph": "{model} による要約",
        "generated": "{time} に {db} から作成",
        "model": "モデル",
        "explainer": "説明器",
        "mode": "モード",
        "method": "CAM 手法",
        "lang": "言語",
        "source": "ソース",
        "created_at": "作成日時",
        "min_df": "最小文書頻度",
        "label_source": "ラベル",
        "nm_note": "n/m: その単語を含む説明文のうちその区のもの / その単語を含む説明文すべて。"
        "係数: 単語 → 区のロジスティック回帰。",
        "vlm_prompt": "画像分類モデルが何を学んだかを調べる分析者を手伝ってください。"
        "クラス「{ward}」では、モデルの説明文の次の単語がそのクラスを予測します"
        "(単語、n/m = その単語を含む説明文のうちそのクラスのもの / その単語を含む説明文すべて、"
        "係数):\n{table}\n前後の文:\n{sentences}\n添付の画像はそのクラスの写真の例と Grad-CAM の"
        "オーバーレイです。これらの単語が写真の上で実際に何を指していたかを、"
        "日本語で 2、3 文で述べてください。",
        "region_of": "{obj}の領域",
        "ward_prob": "{ward} {prob}",
        "verify_pictures": "語の領域を隠したときの区の確率",
        "pic_before": "元の写真 {p}",
        "pic_hidden": "「{word}」を隠す {p}",
        "pic_control": "対照 {p}",
        "images_note": "画像: このファイルの隣の {folder}/ にあります。",
    },
}


def text(key: str, lang: str, **kwargs: object) -> str:
    """``key`` in ``lang``, formatted with ``kwargs`` (:func:`core.languages.lookup`'s rule)."""
    return lookup(STRINGS, key, lang, **kwargs)
