"""The one place text from files, databases and the network is made safe for a terminal.

A class name, a word, a file name or a model's answer may hold a newline (which would split a
one-line message), an escape sequence (``ESC]0;…BEL`` retitles the window, ``ESC[2J`` clears
it) or a bidirectional override (U+202E shows text reversed); a terminal obeys them.

* :func:`printable`: one line: every control and bidi-format character is written as a
  visible escape (``\\n``, ``\\x1b``, ``\\u202e``); the rest, Japanese included, as it is.
* :func:`printable_text`: a block of lines (a Markdown table, a report): the same, but its own
  line ends and tabs are kept.
* :func:`escaped_output`: every ``wordcam`` command runs inside it (:func:`core.cli.main`), so
  all it writes to stdout and stderr goes through :func:`printable_text` (stderr keeps ``\\r``
  for progress bars); a value that must stay on one line is passed through :func:`printable`
  where the message is made.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

# Bidirectional overrides and isolates (format characters that reorder what is shown).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: object, keep: str = "") -> str:
    """``text`` with control and bidi-format characters escaped (those in ``keep`` kept)."""
    return _unsafe(keep).sub(_escape, str(text))


def printable_text(text: object, keep: str = "\n\t") -> str:
    """A block of lines made safe: like :func:`printable`, but line ends and tabs are kept."""
    return printable(text, keep)


@functools.cache
def _unsafe(keep: str) -> re.Pattern[str]:
    """The characters to escape: every ``Cc`` control character and :data:`_BIDI`, but ``keep``."""
    controls = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]  # Unicode's Cc, all of it
    chars = sorted((set(controls) | _BIDI) - set(keep))
    return re.compile("[" + "".join(re.escape(ch) for ch in chars) + "]")


def _escape(found: re.Match[str]) -> str:
    ch = found.group()
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


class EscapingStream:
    """A text stream that writes everything through :func:`printable_text` (``keep`` kept)."""

    def __init__(self, stream: TextIO, keep: str) -> None:
        self._stream, self._keep = stream, keep

    def write(self, text: str) -> int:
        self._stream.write(printable_text(text, self._keep))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextmanager
def escaped_output() -> Iterator[None]:
    """Within the block, ``sys.stdout`` and ``sys.stderr`` escape what they are given."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = EscapingStream(out, "\n\t"), EscapingStream(err, "\n\t\r")
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
