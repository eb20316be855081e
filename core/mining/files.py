"""THE corpus-file reader: CSV, TSV or JSONL documents with columns ``id,label,text``.

Optional columns: ``pred_label`` (the image model's answer) and ``path`` (the photo). Keyword
mining reads corpus files with :func:`read_text_records`; the text import reads the
``(id, label, text)`` triples of :func:`id_label_text`. One set of rules for every caller:
the file exists and has a known suffix; the CSV/TSV header, and every JSONL line, has the
required columns; ids are non-empty and unique; labels are stripped (empty ones are ``None``);
texts are kept as written, empty ones included (the caller decides what they mean), except
that ids, labels and texts are normalised to Unicode NFC (a "café" typed with a combining
accent is the same class and the same word as one typed precomposed). A header naming a
column twice is refused, and a JSONL line nested too deeply to parse is one error. Files
are read strictly: invalid UTF-8, a CSV row with more or fewer fields than the header, an
unclosed quote and a field over csv's size limit are errors naming their line.
"""

from __future__ import annotations

import csv
import json
import math
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import DataError

#: File suffix -> format. ``.json`` is read as JSON Lines (one object per line).
CORPUS_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
#: The columns a corpus file needs by default.
TEXT_COLUMNS = ("id", "label", "text")


@dataclass(frozen=True)
class TextRecord:
    """One document of a corpus file."""

    id: str
    label: str | None
    text: str
    pred_label: str | None = None
    path: str | None = None


def is_corpus_file(path: str | Path) -> bool:
    """Whether ``path`` names a corpus file by its suffix (anything else is a wordcam DB)."""
    return Path(path).suffix.lower() in CORPUS_SUFFIXES


def read_text_records(
    path: str | Path, required: Sequence[str] = TEXT_COLUMNS
) -> Iterator[TextRecord]:
    """The documents of a CSV/TSV/JSONL corpus file, in file order.

    ``required`` are the columns every document needs (keyword mining by predicted label asks
    for ``id, pred_label, text``). Any broken rule (see the module docstring) raises
    :class:`DataError` naming the file, the line and what is wrong.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(
            f"{path}: no such file; pass a CSV, TSV or JSONL file with columns id,label,text"
        )
    kind = CORPUS_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"{path}: unknown text file type {path.suffix.lower() or '(none)'}; use .csv, "
            ".tsv or .jsonl with columns id,label,text"
        )
    rows = _jsonl_rows(path, required) if kind == "jsonl" else _csv_rows(path, kind, required)
    seen: set[str] = set()
    for where, row in rows:
        record = _record(row)
        if not record.id:
            raise DataError(f"{path}: {where}: empty id")
        if record.id in seen:
            raise DataError(f"{path}: duplicate id {record.id!r} ({where}); ids must be unique")
        seen.add(record.id)
        yield record


def id_label_text(path: str | Path) -> Iterator[tuple[str, str | None, str]]:
    """``(id, label, text)`` of each document of a corpus file (the text import's view)."""
    for record in read_text_records(path):
        yield record.id, record.label, record.text


def _lines(path: Path) -> Iterator[str]:
    """The file's lines decoded as UTF-8 (a BOM dropped); invalid bytes are an error naming
    their line."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}: line {number}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at "
                    f"column {exc.start + 1}); save the file as UTF-8"
                ) from None
            yield line.removeprefix("\ufeff") if number == 1 else line


def _csv_rows(
    path: Path, kind: str, required: Sequence[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Rows of a CSV/TSV file, strictly: every row has the header's number of fields, a quote
    is closed, a field fits csv's limit; each broken rule is an error naming its line."""
    reader = csv.reader(_lines(path), delimiter="\t" if kind == "tsv" else ",", strict=True)
    header = [c.strip() for c in _next_row(reader, path) or []]
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise DataError(
            f"{path}: line 1: duplicate column(s) {', '.join(twice)} in the header; "
            "each column may appear once"
        )
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)} (found: "
            f"{', '.join(header) or 'none'}); the header must be {','.join(required)}"
        )
    while True:
        start = reader.line_num + 1
        fields = _next_row(reader, path)
        if fields is None:
            return
        if not fields:
            continue  # a blank line
        if len(fields) != len(header):
            raise DataError(
                f"{path}: line {start}: {len(fields)} fields, but the header has "
                f"{len(header)} ({','.join(header)}); quote a field that holds the delimiter"
            )
        yield f"line {start}", dict(zip(header, fields, strict=True))


def _next_row(reader: Any, path: Path) -> list[str] | None:
    """The reader's next row (None at the end); csv's errors named with their line."""
    start = reader.line_num + 1
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        message = str(exc)
        if "field larger than field limit" in message:
            message = (
                f"a field longer than {csv.field_size_limit():,} characters (an unclosed "
                "quote swallows the rows after it)"
            )
        elif "unexpected end of data" in message or "EOF" in message:
            message = "a quote opened here is never closed"
        raise DataError(f"{path}: line {start}: {message}") from None


def _jsonl_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    needs = f"{', '.join(required[:-1])} and {required[-1]}"
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except RecursionError:
            raise DataError(
                f"{path}: line {number}: JSON nested too deeply to read; a document is one "
                "flat object with id, label and text"
            ) from None
        except ValueError as exc:
            raise DataError(f"{path}: line {number}: not valid JSON ({exc})") from None
        if not isinstance(row, dict):
            raise DataError(
                f"{path}: line {number}: expected a JSON object with {','.join(required)}"
            )
        missing = [c for c in required if c not in row]
        if missing:
            raise DataError(
                f"{path}: line {number}: missing column(s) {', '.join(missing)}; "
                f"each line needs {needs}"
            )
        yield f"line {number}", row


def _record(row: dict[str, Any]) -> TextRecord:
    text = row.get("text")
    return TextRecord(
        id=_label(row.get("id")) or "",
        label=_label(row.get("label")),
        text="" if text is None else unicodedata.normalize("NFC", str(text)),
        pred_label=_label(row.get("pred_label")),
        path=_label(row.get("path")),
    )


def _label(value: Any) -> str | None:
    """A stripped string, ``None`` for a missing, empty or NaN value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return unicodedata.normalize("NFC", str(value).strip()) or None
