"""Showing untrusted text (model output, file and class names) safely in Streamlit Markdown.

Nothing here emits HTML: text is escaped for Markdown so that HTML tags, links, images,
Streamlit colour directives (``:red[...]``), emoji shortcodes and LaTeX (``$...$``) all show
literally, and highlighted words are wrapped in Markdown emphasis.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of
# them is the simplest way to make sure none starts a construct (HTML, links, directives).
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")


def escape_markdown(text: object) -> str:
    """``text`` escaped so that ``st.markdown`` shows it literally (one paragraph per line)."""
    escaped = _PUNCTUATION.sub(r"\\\1", str(text))
    # Keep the author's line breaks; Markdown would otherwise join the lines.
    return _LINE_BREAKS.sub("  \n", escaped)


def highlight_markdown(text: object, words: list[str] | tuple[str, ...] | str | None) -> str:
    """Escaped ``text`` with each occurrence of ``words`` shown bold in orange."""
    text = str(text or "")
    if isinstance(words, str):
        words = [words]
    words = sorted({w for w in (words or []) if w}, key=len, reverse=True)
    if not words:
        return escape_markdown(text)
    pattern = re.compile("|".join(re.escape(w) for w in words))
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(escape_markdown(text[last : match.start()]))
        # coloured bold text, no background: a background span is padded, which read as
        # spaces around the word in Japanese text ("赤と 灰色 の", issue 23)
        parts.append(f":orange[**{escape_markdown(match.group(0))}**]")
        last = match.end()
    parts.append(escape_markdown(text[last:]))
    return "".join(parts)
