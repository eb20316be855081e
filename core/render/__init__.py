"""Pictures: a CAM's overlay, panel, numbered marks and thumbnail (:mod:`core.render.cam`), and
a classifier's confusion matrix (:mod:`core.render.confusion`); fonts in :mod:`core.render.fonts`.

Everything is deterministic PIL + numpy (no matplotlib).
"""

from core.render.cam import (
    MARK_COLOURS,
    PANEL_GAP,
    colorize,
    jet_table,
    marks_overlay,
    overlay,
    panel,
    resize_cam,
    thumbnail,
)
from core.render.confusion import draw_confusion, save_confusion_png
from core.render.fonts import find_japanese_font

__all__ = [
    "MARK_COLOURS",
    "PANEL_GAP",
    "colorize",
    "draw_confusion",
    "find_japanese_font",
    "jet_table",
    "marks_overlay",
    "overlay",
    "panel",
    "resize_cam",
    "save_confusion_png",
    "thumbnail",
]
