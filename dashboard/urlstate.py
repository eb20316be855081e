"""Every page's filters in the URL (``st.query_params``), so that a copied link reopens the view.

A page lists its :class:`Param` s. :func:`restore` runs before its widgets: when the URL holds
values other than those this session last wrote (a shared link, the browser's back button),
they seed the widgets. :func:`publish` runs after them and writes the current values (those
that differ from the defaults) into the URL, keeping ``lang`` and ``run``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

KEPT = ("lang", "run")  # app-wide parameters every page keeps


@dataclass(frozen=True)
class Param:
    """One URL parameter ``name`` mirroring the sticky setting ``key`` (see ``widgets.sticky``)."""

    name: str
    key: str
    default: Any = ""
    kind: str = "str"  # str | int | list | bool

    def read(self) -> Any:
        """The URL's value, parsed; ``None`` when absent or malformed."""
        if self.name not in st.query_params:
            return None
        if self.kind == "list":
            return [v for v in st.query_params.get_all(self.name) if v]
        raw = st.query_params.get(self.name, "")
        if self.kind == "int":
            return int(raw) if raw.lstrip("-").isdigit() else None
        if self.kind == "bool":
            return raw == "1"
        return raw

    def encode(self, value: Any) -> str | list[str] | None:
        """The URL form of ``value``; ``None`` for the default (left out of the URL)."""
        if value is None or value == self.default:
            return None
        if self.kind == "list":
            return [str(v) for v in value] or None
        if self.kind == "bool":
            return "1" if value else "0"
        return str(value)


def _whole_url() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def _url_values(params: Sequence[Param]) -> dict[str, Any]:
    return {p.name: v for p in params if (v := p.read()) is not None}


def restore(page: str, params: Sequence[Param]) -> bool:
    """Seed the settings of ``params`` from the URL when it differs from what was written.

    Returns whether it did (the page was opened from a link or through the history).
    """
    found = _url_values(params)
    written = st.session_state.get(f"url_{page}")
    last_page, last_url = st.session_state.get("url_last", (None, None))
    if last_page not in (None, page) and _whole_url() == last_url:
        return False  # the URL another page wrote (its filters), not a link to this page
    if not found or found == written:
        return False
    for p in params:
        value = found.get(p.name, p.default)
        st.session_state[p.key] = st.session_state[f"w_{p.key}"] = value
    st.session_state[f"url_{page}"] = found
    return True


def publish(page: str, params: Sequence[Param]) -> None:
    """Write the current settings of ``params`` into the URL (only what changed)."""
    wanted: dict[str, Any] = {k: st.query_params.get_all(k) for k in KEPT if k in st.query_params}
    wanted = {k: v[0] if len(v) == 1 else v for k, v in wanted.items()}
    for p in params:
        encoded = p.encode(st.session_state.get(p.key, p.default))
        if encoded is not None:
            wanted[p.name] = encoded
    normal = {k: v if isinstance(v, list) else [v] for k, v in wanted.items()}
    if _whole_url() != normal:
        st.query_params.from_dict(wanted)
    st.session_state[f"url_{page}"] = _url_values(params)
    st.session_state["url_last"] = (page, _whole_url())
