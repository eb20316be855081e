"""Text from files and the network made safe for a terminal: control characters escaped.

A file name may hold a newline (which would split a one-line message) or an escape sequence
(which the terminal would obey); :func:`printable` writes every such character as a visible
escape (``\\n``, ``\\x1b``, ``\\u202e``) and leaves the rest, Japanese included, as it is.
"""

from __future__ import annotations

import unicodedata

# Bidirectional overrides and isolates (format characters that reorder what is shown).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def printable(text: object) -> str:
    """``text`` with control and bidi-format characters escaped, for one terminal line."""
    return "".join(_escape(ch) for ch in str(text))


def _escape(ch: str) -> str:
    if ch in _BIDI or unicodedata.category(ch) == "Cc":
        code = ord(ch)
        named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
        return named or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return ch
