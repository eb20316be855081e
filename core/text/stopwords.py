"""Stop lists: function-like words and words about the explanation or the heatmap itself.

Words about the overlay (ヒートマップ, 強調, 注目, 重要度, heatmap, highlight, attention...) are
never evidence about the photo; :mod:`core.text.overlay` also removes the phrases that
describe the overlay's colours (赤く強調, "highlighted in red") before tokenizing.
"""

from __future__ import annotations


def _wordset(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


#: Japanese stop words (dictionary forms), applied after tokenization.
STOPWORDS_JA: frozenset[str] = _wordset(
    """
    する ある いる なる れる られる せる させる おる できる いう 言う 思う 考える 見える 見る
    写る 映る 示す 感じる 行う 持つ 含む 受ける 得る ない よい 良い いい
    こと もの よう ため ところ とき 時 ほう 方 等 など 他 ほか 中 上 下 前 後 横 間 内 外
    画像 写真 領域 部分 箇所 場所 様子 特徴 特徴的 注目 判断 根拠 可能 可能性 場合 全体
    全体的 印象 要素 情報 確認 存在 複数 一部 多数 周囲 モデル 分類 予測 ヒートマップ 注視
    反応 強調 影響 対象 結果 理由 主 主に 非常 程度 傾向 関係 熱 占める 一つ 二つ 三つ
    たくさん いくつ
    重要 重要度 注目度 寄与 寄与度 活性 活性化 ハイライト アテンション オーバーレイ
    サリエンシー 強調表示
    """
)

#: Words about the explanation itself, added to scikit-learn's English stop words.
EXTRA_STOPWORDS_EN: frozenset[str] = _wordset(
    """
    image photo photograph picture region area part model heatmap highlight focus attention
    feature prediction predict classify classification appear visible show see look suggest
    indicate likely seem contain include like heat hold concentrate recognisable recognizable
    clearly
    overlay gradcam saliency salient activation activate importance important hotspot
    emphasize emphasise emphasis
    """
)

#: Words of scikit-learn's English stop list that name things in photos: kept as content.
CONTENT_WORDS_EN: frozenset[str] = _wordset(
    """
    fire mill bill top bottom front back side thick thin full empty system interest
    """
)

_en_stop: frozenset[str] | None = None


def english_stopwords() -> frozenset[str]:
    """scikit-learn's English stop words, less :data:`CONTENT_WORDS_EN` (fire engine, top,
    front...), plus :data:`EXTRA_STOPWORDS_EN`."""
    global _en_stop
    if _en_stop is None:
        from sklearn.feature_extraction._stop_words import ENGLISH_STOP_WORDS

        _en_stop = (frozenset(ENGLISH_STOP_WORDS) - CONTENT_WORDS_EN) | EXTRA_STOPWORDS_EN
    return _en_stop
