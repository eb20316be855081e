"""The dashboard's pages and the moves between them."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.i18n import lang, t

PAGES = {
    "overview": "views/overview.py",
    "keywords": "views/keywords.py",
    "compare": "views/compare.py",
    "photos": "views/photos.py",
    "precompute": "views/precompute.py",
    "report": "views/report.py",
    "export": "views/export.py",
}
ICONS = {
    "overview": ":material/dashboard:",
    "keywords": ":material/sell:",
    "compare": ":material/compare_arrows:",
    "photos": ":material/photo_library:",
    "precompute": ":material/play_circle:",
    "report": ":material/description:",
    "export": ":material/download:",
}


def pages() -> list:
    """The pages for ``st.navigation``, titled in the screen's language (stable URL paths)."""
    return [
        st.Page(
            path,
            title=t(f"page.{name}"),
            icon=ICONS[name],
            url_path=name,
            default=name == "overview",
        )
        for name, path in PAGES.items()
    ]


def go_to_photos(
    word: str | None = None,
    wards: list[str] | None = None,
    by: str = "true",
    order: str = "confidence",
    true: str | None = None,
) -> None:
    """Open the Photos page filtered by ``word`` (and ``wards``), in ``order``, via the URL.

    Every chart and table of the dashboard is a door to its photos through here: ``true`` adds
    "truly of this ward" (a confusion-matrix cell is ``by="pred"``, ``wards=[predicted]``).
    The photos open most confident first unless ``order`` says otherwise.
    """
    wards = [str(w) for w in wards or [] if w]  # a selection may hold no ward
    st.session_state["photos_request"] = {
        "word": word or "",
        "wards": wards,
        "by": by,
        "order": order,
        "true": true or "",
    }
    params: dict[str, Any] = {"lang": lang()}
    if "run" in st.query_params:
        params["run"] = st.query_params["run"]
    if word:
        params["word"] = word
    if wards:
        params["ward"] = wards
    if by != "true":
        params["by"] = by
    if order != "confidence":
        params["order"] = order
    if true:
        params["true"] = true
    st.switch_page(PAGES["photos"], query_params=params)


def picked(event: Any, name: str) -> dict[str, Any] | None:
    """The first point a chart's selection ``name`` holds after a click (None: no click)."""
    if not event:
        return None
    points = event.selection.get(name) or []
    return points[0] if points and isinstance(points[0], dict) else None


def picked_row(event: Any) -> int | None:
    """The position of the row (or of the cell's row) a table's selection holds, if any."""
    if not event:
        return None
    selection = event.selection
    rows = list(selection.get("rows") or [])
    cells = list(selection.get("cells") or [])
    if rows:
        return int(rows[0])
    if cells:
        return int(cells[0][0])
    return None


def picked_cell(event: Any) -> tuple[int, str] | None:
    """``(row position, column name)`` of the cell a table's single-cell selection holds."""
    if not event:
        return None
    cells = list(event.selection.get("cells") or [])
    return (int(cells[0][0]), str(cells[0][1])) if cells else None
