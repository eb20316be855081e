"""The text of ``wordcam mine``'s tables in both languages (the same keys in each; a test checks).

A table is written in its run's language (:attr:`core.mining.result.MiningResult.lang`):
the cells' attribute suffix, test names and states, and the summary lines under the table.
The lookup rule is :func:`core.languages.lookup`'s: a missing key raises ``KeyError``, an
unknown language ``ValueError``; nothing falls back silently. The states and test names are
the dashboard's words (``verify.*`` in :mod:`dashboard.catalogue`). JSON stays English: its
keys and values (``verdict``, ``test``) are for programs.
"""

from __future__ import annotations

from core.languages import lookup

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "region_of": "region of {obj}",
        "test.hide": "hide",
        "test.colour": "colour",
        "test.move": "move",
        "state.causal": "causal",
        "state.no effect shown": "no effect shown",
        "state.too few photos": "too few photos",
        "state.not tested": "not tested",
        "n_a": "n/a",
        "text_accuracy": "text accuracy {value}",
        "folds": " ({folds}-fold CV)",
        "image_accuracy": "image accuracy {value}",
        "baseline": "baseline {value}",
        "documents": "documents {n}",
        "skipped": "skipped {n}",
        "left_out": "left out (< {min} documents): {classes}",
        "list_sep": ", ",
        "rank_precision": "ranked by the lower end of the 95% Wilson interval of n/m",
        "rank_weight": "ranked by logistic-regression weight",
        "ranking": "words: {by}; words in fewer than {min_m} documents left out; object words "
        "first, an object word naming the regions of one above it shown as that region's other "
        "name, colour and position words on an object's regions shown as its attribute",
        "verified": "verified words: each word by its own test (hide: an object word's regions "
        "hidden; colour: their colour taken away; move: their content moved), the drop of the "
        "class probability minus that of the same change to a control ({fill} fill); {mark} "
        "causal (95% interval above zero after Benjamini-Hochberg); a colour or position word "
        "shown as an object's attribute carries its own test's verdict, never the region's",
        "examples_none": "no explanation contains {word}",
        "examples_line": "- [{label} / predicted {pred}] {prob} {where}",
        "head.rank": "rank",
        "head.side": "side",
        "head.word": "word",
        "head.of": "{label} (of {n})",
        "head.class": "class",
        "head.documents": "documents",
        "head.nm": "{word} n/m",
        "head.precision": "{word} precision",
    },
    "ja": {
        "region_of": "{obj}の領域",
        "test.hide": "隠す",
        "test.colour": "色",
        "test.move": "移動",
        "state.causal": "因果的",
        "state.no effect shown": "効果は示されず",
        "state.too few photos": "写真が少なすぎる",
        "state.not tested": "未検証",
        "n_a": "なし",
        "text_accuracy": "単語 → ラベルの正解率 {value}",
        "folds": "({folds} 分割交差検証)",
        "image_accuracy": "画像モデルの正解率 {value}",
        "baseline": "多数派ベースライン {value}",
        "documents": "文書数 {n}",
        "skipped": "除外 {n}",
        "left_out": "文書数 {min} 未満で除外したクラス: {classes}",
        "list_sep": "、",
        "rank_precision": "n/m の95% Wilson 区間の下端で順位付け",
        "rank_weight": "ロジスティック回帰の係数で順位付け",
        "ranking": "単語: {by}。{min_m} 文書未満の単語は除外。物体の語を先に、上位の物体の語と"
        "同じ領域を指す物体の語はその領域の別の名前として、物体の領域について述べた色と位置の語は"
        "その物体の属性として表示",
        "verified": "検証済みの語: 各語をその語自身のテストで検証(隠す: 物体の語の領域を隠す。"
        "色: 領域の色を取り除く。移動: 領域の内容を動かす)。クラス確率の低下から、対照に同じ変更を"
        "加えたときの低下を引いた値({fill} で塗りつぶし)。{mark} 因果的(Benjamini-Hochberg "
        "補正後も95%区間が0より上)。物体の属性として表示した色や位置の語は、領域のではなくその語"
        "自身のテストの判定を示す",
        "examples_none": "{word} を含む説明文はありません",
        "examples_line": "- [{label} / 予測 {pred}] {prob} {where}",
        "head.rank": "順位",
        "head.side": "側",
        "head.word": "単語",
        "head.of": "{label}({n} 文書中)",
        "head.class": "クラス",
        "head.documents": "文書数",
        "head.nm": "{word} n/m",
        "head.precision": "{word} 適合率",
    },
}


def text(key: str, lang: str, **kwargs: object) -> str:
    """The table text ``key`` in ``lang`` (:func:`core.languages.lookup`'s rule)."""
    return lookup(STRINGS, key, lang, **kwargs)
