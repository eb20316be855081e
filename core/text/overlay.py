"""Phrases about the heatmap overlay itself, removed before tokenizing.

A vision-language answer describes the overlay as well as the photo: "GradCAMの画像で屋根部分が
赤く強調されています", "the lane marking is highlighted in red in the Grad-CAM heatmap". The
overlay's name (GradCAM, ヒートマップ, saliency map...) and the colour it paints the evidence in
(赤く強調, 赤色で示され, "highlighted in red", "shown in red and yellow") say nothing about the
photo: each such span is replaced by a separator, so that neither its words nor the colour
adjective reach the terms, and no compound is joined across it.
"""

from __future__ import annotations

import re

# English --------------------------------------------------------------------------------------

_COLOUR_EN = (
    r"(?:(?:bright|deep|dark|light|intense|strong|vivid)\s+)?"
    r"(?:red|orange|yellow|green|blue|cyan|purple|magenta|warm|hot)(?:dish)?"
    r"(?:\s+colou?rs?|\s+tones?|\s+hues?)?"
)
_COLOURS_EN = rf"{_COLOUR_EN}(?:\s*(?:,|/|-|and|or|to|and\s+then)\s*{_COLOUR_EN})*"
_MAP_EN = (
    r"(?:(?:grad|score|eigen|layer|x|full)[\s-]?cam(?:\+\+)?|heat[\s-]?maps?|saliency(?:\s+maps?)?"
    r"|attention(?:\s+maps?)?|(?:class\s+)?activation(?:\s+maps?)?|overlays?|hot[\s-]?spots?)"
)
_OVERLAY_EN = re.compile(
    "|".join(
        (
            # "highlighted in red", "shown in red and yellow", "marked as bright red"
            r"\b(?:highlight(?:ed|s|ing)?|shown|marked|colou?red|displayed|rendered|depicted"
            r"|indicated|painted|lit\s+up|light(?:s|ing)?\s+up|glow(?:s|ing|ed)?|shaded|tinted)"
            rf"\s+(?:(?:in|as|with|by)\s+)?{_COLOURS_EN}\b",
            # "the red areas of the heatmap", "red regions in the overlay"
            rf"\b{_COLOURS_EN}\s+(?:highlights?|regions?|areas?|zones?|spots?|blobs?|patches?"
            rf"|parts?|portions?|pixels?)\s+(?:of|in|on)\s+(?:the\s+)?{_MAP_EN}\b",
            rf"\b{_MAP_EN}\b",
        )
    ),
    re.IGNORECASE,
)

# Japanese (after NFKC: GradCAM, Grad-CAM are half-width) -------------------------------------

_COLOUR_JA = r"(?:真っ赤|濃い赤|赤|黄|橙|オレンジ|青|緑|紫|暖)(?:色|っぽ)?[いく]?"
_COLOURS_JA = rf"{_COLOUR_JA}(?:(?:[やと・、,~〜]|から){_COLOUR_JA})*"
_MAP_JA = (
    r"(?:(?i:(?:grad|score|eigen|layer)[\s-]?cam(?:\+\+)?)|ヒート・?マップ|サリエンシー(?:・?マップ)?"
    r"|アテンション(?:・?マップ)?|オーバーレイ|活性化・?マップ|重要度|注目度|寄与度|強調表示)"
)
_OVERLAY_JA = re.compile(
    "|".join(
        (
            # 赤く強調, 赤色で示され, 赤や黄色で表示, 赤くハイライト
            rf"{_COLOURS_JA}(?:色)?(?:で|に)?(?:強調|ハイライト|表示|示|着色|色付け|塗|反応)",
            # ヒートマップでは赤い..., GradCAMで赤色の...
            rf"{_MAP_JA}(?:上|の中|画像)?(?:で|に|において|では|には|の)?(?:は)?{_COLOURS_JA}",
            _MAP_JA,
        )
    )
)

# Punctuation that janome would glue to a noun (店舗: -> 店舗:, 配管】), bullets, and hyphens that
# are not inside a word (Grad-CAM and 3-4 keep theirs).
_WORDCHAR = r"0-9A-Za-z\u3040-\u30ff\u3400-\u9fff々ー"
_PUNCT_JA = re.compile(
    r"[!\"#$&'()*,/:;<=>?@\[\\\]^_`{|}~【】〔〕〈〉《》「」『』〘〙〚〛•●○◆◇■□▪▫►▶※→←↑↓★☆♪…‥]"
    rf"|(?<![{_WORDCHAR}])-|-(?![{_WORDCHAR}])|(?<!\S)・|・(?!\S)"
)


def strip_overlay_en(text: str) -> str:
    """``text`` with the phrases about the heatmap overlay replaced by commas."""
    return _OVERLAY_EN.sub(" , ", text)


def strip_overlay_ja(text: str) -> str:
    """``text`` with overlay phrases and sticky punctuation replaced by 、."""
    return _PUNCT_JA.sub("、", _OVERLAY_JA.sub("、", text))
