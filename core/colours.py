"""The colour names the grounded explainer uses, in both languages (a leaf: the tokenizer
reads them to know a colour word when it sees one)."""

from __future__ import annotations

COLOUR_NAMES: dict[str, dict[str, str]] = {
    "red": {"ja": "赤", "en": "red"},
    "orange": {"ja": "オレンジ", "en": "orange"},
    "yellow": {"ja": "黄色", "en": "yellow"},
    "green": {"ja": "緑", "en": "green"},
    "cyan": {"ja": "水色", "en": "light blue"},
    "blue": {"ja": "青", "en": "blue"},
    "purple": {"ja": "紫", "en": "purple"},
    "pink": {"ja": "ピンク", "en": "pink"},
    "brown": {"ja": "茶色", "en": "brown"},
    "beige": {"ja": "ベージュ", "en": "beige"},
    "white": {"ja": "白", "en": "white"},
    "grey": {"ja": "灰色", "en": "grey"},
    "black": {"ja": "黒", "en": "black"},
}
COLOUR_KEYS = tuple(COLOUR_NAMES)
