"""Test stand-in for the terms helper's ``word_regions``: derived from grounded details.

Until the precompute job records ``word_regions`` itself, tests (and the measurements of
``docs/verify.md``) fill it from ``explanations.details``: a word named in a region's sentence
(its position, colours and object candidates) is said about that region; any other word of
the explanation about all its regions, unlocalized.
"""

from __future__ import annotations

import json
from pathlib import Path


def region_words(region: dict, lang: str) -> set[str]:
    from core.text import tokenize

    names = [region.get("position_name", "")]
    names += [c["name"] for c in region.get("colors", [])]
    names += [c["label"] for c in region.get("candidates", [])]
    words: set[str] = set()
    for name in filter(None, names):
        words.update(tokenize(name, lang=lang))
        words.add(name.strip())
    return words


def derive_word_regions(con, run_id: int, lang: str = "ja") -> int:
    """Fill ``word_regions`` of ``run_id`` from its explanations; the number of rows."""
    rows = con.execute(
        "SELECT e.image_id, CAST(e.details AS VARCHAR), t.tokens FROM explanations e"
        " JOIN tokens t ON t.image_id = e.image_id WHERE e.run_id = ?",
        [run_id],
    ).fetchall()
    out = []
    for image_id, details, tokens in rows:
        regions = (json.loads(details or "{}") or {}).get("regions") or []
        every = [int(r["index"]) for r in regions]
        if not every:
            continue
        for term in sorted(set(tokens or [])):
            named = [int(r["index"]) for r in regions if term in region_words(r, lang)]
            out.append([run_id, image_id, term, named or every, bool(named)])
    con.execute("DELETE FROM word_regions WHERE run_id = ?", [run_id])
    if out:
        con.executemany("INSERT INTO word_regions VALUES (?, ?, ?, ?, ?)", out)
    return len(out)


def fill_db(db: str | Path, run_id: int | None = None, lang: str = "ja") -> int:
    """:func:`derive_word_regions` through the store's writer (migrates the DB)."""
    from core.store import StoreWriter, latest_run_id

    with StoreWriter(db) as writer:
        rid = latest_run_id(writer.con) if run_id is None else run_id
        return derive_word_regions(writer.con, rid, lang)


def set_kinds(db: str | Path, run_id: int | None = None, lang: str = "ja") -> int:
    """Stand-in for the grounded explainer's word kinds on a free-text test run: a region's
    colour names are ``colour`` terms, its position name ``position``, its candidates
    ``object`` (as :mod:`core.text.evidence` gives them for grounded details); the number of
    documents updated."""
    from core.store import StoreWriter, latest_run_id

    with StoreWriter(db) as writer:
        con = writer.con
        rid = latest_run_id(con) if run_id is None else run_id
        rows = con.execute(
            "SELECT e.image_id, CAST(e.details AS VARCHAR), t.tokens, t.kinds FROM explanations e"
            " JOIN tokens t ON t.image_id = e.image_id WHERE e.run_id = ?",
            [rid],
        ).fetchall()
        updated = 0
        for image_id, details, tokens, kinds in rows:
            regions = (json.loads(details or "{}") or {}).get("regions") or []
            known = {}
            for r in regions:
                known.update({c["label"]: "object" for c in r.get("candidates", [])})
                known.update({c["name"]: "colour" for c in r.get("colors", [])})
                if r.get("position_name"):
                    known[r["position_name"]] = "position"
            old = kinds or [None] * len(tokens)
            new = [known.get(t, k or "other") for t, k in zip(tokens, old, strict=True)]
            con.execute("UPDATE tokens SET kinds = ? WHERE image_id = ?", [new, image_id])
            updated += 1
        return updated
