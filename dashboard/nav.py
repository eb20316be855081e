"""The dashboard's pages and the moves between them."""

from __future__ import annotations

from typing import Any

import streamlit as st

PAGES = {
    "overview": "views/overview.py",
    "keywords": "views/keywords.py",
    "compare": "views/compare.py",
    "photos": "views/photos.py",
    "precompute": "views/precompute.py",
    "export": "views/export.py",
}


def go_to_photos(word: str | None = None, wards: list[str] | None = None, by: str = "true") -> None:
    """Open the Photos page filtered by ``word`` (and ``wards``), via session state + URL."""
    st.session_state["photos_request"] = {"word": word or "", "wards": list(wards or []), "by": by}
    params: dict[str, Any] = {}
    if word:
        params["word"] = word
    if wards:
        params["ward"] = list(wards)
    st.switch_page(PAGES["photos"], query_params=params or None)
