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
    order: str = "id",
) -> None:
    """Open the Photos page filtered by ``word`` (and ``wards``), in ``order``, via the URL."""
    st.session_state["photos_request"] = {
        "word": word or "",
        "wards": list(wards or []),
        "by": by,
        "order": order,
    }
    params: dict[str, Any] = {"lang": lang()}
    if "run" in st.query_params:
        params["run"] = st.query_params["run"]
    if word:
        params["word"] = word
    if wards:
        params["ward"] = list(wards)
    if by != "true":
        params["by"] = by
    if order != "id":
        params["order"] = order
    st.switch_page(PAGES["photos"], query_params=params)
