"""The confusion matrix as a PNG (``confusion_matrix.png`` in a model directory).

Class names are drawn when a font can render them; otherwise class indices, with a legend file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.files import replace_file, replace_text
from core.render.fonts import find_japanese_font, font_at

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger("wordcam.evaluate")  # the logger this message has always come from


TITLE = "true class (rows) vs predicted class (columns)"


def save_confusion_png(metrics: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """Draw the confusion matrix (row-normalised colour, counts in cells) with PIL.

    Class names are drawn when they are ASCII or a Japanese-capable font is installed;
    otherwise the image shows class indices and ``<stem>_labels.txt`` beside it maps them to
    names. Returns ``{"path", "font", "names_drawn", "legend"}``.
    """
    path = Path(path)
    labels: list[str] = metrics["labels"]
    ascii_only = all(name.isascii() for name in labels)
    font_path = None if ascii_only else find_japanese_font()
    names_drawn = ascii_only or font_path is not None
    shown = [f"{i} {n}" if names_drawn else str(i) for i, n in enumerate(labels)]
    picture = draw_confusion(metrics["confusion_matrix"], shown, font_path)
    replace_file(path, lambda fh: picture.save(fh, "PNG"))

    legend = None
    if not names_drawn:
        legend = path.with_name(f"{path.stem}_labels.txt")
        replace_text(legend, "".join(f"{i}\t{n}\n" for i, n in enumerate(labels)))
        log.info(
            "no Japanese font installed (fc-list :lang=ja found none): %s shows class "
            "indices; %s maps them to names",
            path.name,
            legend.name,
        )
    return {
        "path": str(path),
        "font": font_path,
        "names_drawn": names_drawn,
        "legend": str(legend) if legend else None,
    }


class _Canvas:
    """The picture being drawn, its fonts and its geometry (cell size, grid origin)."""

    def __init__(self, shown: Sequence[str], font_path: str | None) -> None:
        from PIL import Image, ImageDraw

        c = len(shown)
        self.cell = max(32, min(64, 720 // max(c, 1)))
        self.font = font_at(font_path, max(10, self.cell // 3))
        self.title_font = font_at(font_path, 14)
        self._probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        label_w = max(self.text_w(s) for s in shown) + 12
        self.top = label_w + 40  # column names are drawn rotated above the grid
        self.left = label_w + 30
        width = max(self.left + c * self.cell + 20, self.text_w(TITLE, self.title_font) + 20)
        height = self.top + c * self.cell + 30
        self.image = Image.new("RGB", (width, height), "white")
        self.draw = ImageDraw.Draw(self.image)

    def text_w(self, text: str, font: Any = None) -> int:
        box = self._probe.textbbox((0, 0), text, font=self.font if font is None else font)
        return box[2] - box[0]


def draw_confusion(
    confusion: Sequence[Sequence[int]], shown: Sequence[str], font_path: str | None
) -> Image.Image:
    """The confusion-matrix picture: ``shown[i]`` names row and column ``i``."""
    canvas = _Canvas(shown, font_path)
    canvas.draw.text((10, 8), TITLE, fill="black", font=canvas.title_font)
    for i in range(len(shown)):
        _draw_row(canvas, i, confusion[i])
        _draw_labels(canvas, i, shown[i])
    c = len(shown)
    canvas.draw.text(
        (canvas.left, canvas.top + c * canvas.cell + 8),
        "predicted",
        fill="black",
        font=canvas.title_font,
    )
    return canvas.image


def _draw_row(canvas: _Canvas, i: int, row: Sequence[int]) -> None:
    """Row ``i``: one cell per predicted class, coloured by its share of the row."""
    cell, font = canvas.cell, canvas.font
    row_total = sum(row) or 1
    for j, value in enumerate(row):
        share = value / row_total
        colour = (
            (round(255 - 200 * share), round(255 - 150 * share), 255) if value else (248, 248, 248)
        )
        x0, y0 = canvas.left + j * cell, canvas.top + i * cell
        canvas.draw.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=colour, outline="white")
        text = str(value)
        ink = "white" if share > 0.55 else "black"
        canvas.draw.text(
            (x0 + (cell - canvas.text_w(text)) / 2, y0 + cell / 2 - font.size * 0.6),
            text,
            fill=ink,
            font=font,
        )


def _draw_labels(canvas: _Canvas, i: int, name: str) -> None:
    """Class ``i``'s name left of its row and, rotated, above its column."""
    from PIL import Image, ImageDraw

    cell, font, left, top = canvas.cell, canvas.font, canvas.left, canvas.top
    canvas.draw.text(
        (left - 6 - canvas.text_w(name), top + i * cell + cell / 2 - font.size * 0.6),
        name,
        fill="black",
        font=font,
    )
    strip = Image.new("RGB", (canvas.text_w(name) + 4, font.size + 8), "white")
    ImageDraw.Draw(strip).text((2, 2), name, fill="black", font=font)
    strip = strip.rotate(90, expand=True)
    canvas.image.paste(strip, (left + i * cell + (cell - strip.width) // 2, top - 6 - strip.height))
