"""The photo job's input: the photos below a folder, with links resolved once by one rule.

The rule (``docs/schema.md``, *Crash safety and exit statuses*):

* Links are followed, to files and to folders, also to places outside the folder: a class
  folder may be a link, and a photo linked in from elsewhere belongs to the folder it is
  listed in.
* A photo is recorded under the path it is listed at: the folder (made absolute and resolved,
  as the run records it) joined with the names inside it as they are, never a link's target.
  Its class is the first folder of that path in Unicode NFC (macOS writes names in NFD; both
  spellings are one class); a flat folder's photos have none.
* One row per distinct file: names of the same file (links to it, hard links: the same device
  and inode) are listed once, under a name that is not itself a link if there is one, else
  the first in path order.
* Every input left out is counted and named (:class:`Skipped`): a second name of a file, a
  folder link that loops (or names a folder already listed), an unreadable folder, a broken
  link, something that is not a regular file, the job's own output folder (the DB's asset
  folder, when the DB lies inside the photo folder). Hidden names (starting with ``.``) and files
  without an image suffix are not inputs and are ignored.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import DataError

Photo = tuple[Path, str | None]  # the path as listed and its true label (None: unlabelled)


@dataclass(frozen=True)
class Skipped:
    """An input left out of the job, and why."""

    path: str
    reason: str


@dataclass
class PhotoListing:
    """The folder (absolute, resolved), its photos in path order, and what was left out."""

    root: Path
    photos: list[Photo]
    skipped: list[Skipped] = field(default_factory=list)


def list_photos(
    data_dir: str | Path, limit: int | None = None, outputs: tuple[Path, ...] = ()
) -> PhotoListing:
    """The photos below ``data_dir`` by the module's rule; the first ``limit`` of them.

    ``outputs``: the job's own output folders (the DB's asset folder), never inputs even when
    the DB lies inside ``data_dir``; one found there is named as skipped.
    """
    from core.images import IMAGE_SUFFIXES

    root = _checked_root(data_dir)
    if limit is not None and limit < 1:
        raise DataError(f"--limit must be at least 1 (got {limit})")
    skipped: list[Skipped] = []
    entered = {_key(os.stat(out)): out for out in outputs if out.is_dir()}
    # The name a file is kept under: not a link if it has one, else the first in path order.
    found = sorted(
        _walk(root, skipped, entered), key=lambda item: (item[0].is_symlink(), item[0].parts)
    )
    kept: dict[tuple[int, int], Path] = {}
    for path, key in found:
        if key in kept:
            skipped.append(Skipped(str(path), f"same file as {kept[key]}"))
        else:
            kept[key] = path
    photos: list[Photo] = []
    for path in sorted(kept.values(), key=lambda p: p.parts):
        rel = path.relative_to(root)
        label = unicodedata.normalize("NFC", rel.parts[0]) if len(rel.parts) > 1 else None
        photos.append((path, label))
    if not photos:
        raise DataError(
            f"{root}: no image files found (looked for {', '.join(sorted(IMAGE_SUFFIXES))}, "
            "recursively); pass a folder of photos"
        )
    return PhotoListing(root, photos[:limit] if limit is not None else photos, skipped)


def _checked_root(data_dir: str | Path) -> Path:
    root = Path(data_dir).expanduser()
    if not root.exists():
        raise DataError(
            f"{root}: no such folder; pass a folder of photos (one sub-folder per class)"
        )
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; pass a folder of photos (one sub-folder per class)")
    return root.resolve()


def _walk(
    root: Path, skipped: list[Skipped], entered: dict[tuple[int, int], Path]
) -> list[tuple[Path, tuple[int, int]]]:
    """Image files below ``root`` as listed, with their file identity (device, inode).

    ``entered``: folders not to walk into again (the job's outputs are given as entered).
    """
    from core.images import IMAGE_SUFFIXES

    def unreadable(exc: OSError) -> None:
        if Path(exc.filename or "") == root:
            raise DataError(f"{root}: cannot read the folder ({exc.strerror or exc})")
        skipped.append(Skipped(str(exc.filename), f"unreadable folder ({exc.strerror or exc})"))

    outputs = set(entered)
    found: list[tuple[Path, tuple[int, int]]] = []
    for top, dirs, files in os.walk(root, followlinks=True, onerror=unreadable):
        here = Path(top)
        entered.setdefault(_key(os.stat(here)), here)
        dirs[:] = [d for d in sorted(dirs) if _enter(here / d, entered, skipped, outputs)]
        for name in files:
            path = here / name
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            key, reason = _file_key(path)
            if key is None:
                skipped.append(Skipped(str(path), reason))
            else:
                found.append((path, key))
    return found


def _key(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _enter(
    folder: Path,
    entered: dict[tuple[int, int], Path],
    skipped: list[Skipped],
    outputs: set[tuple[int, int]],
) -> bool:
    """Whether to walk into ``folder`` (not hidden, not the job's output, not entered yet)."""
    if folder.name.startswith("."):
        return False
    try:
        key = _key(os.stat(folder))
    except OSError as exc:
        skipped.append(Skipped(str(folder), f"unreadable folder ({exc.strerror or exc})"))
        return False
    if key in outputs:
        skipped.append(Skipped(str(folder), "the database's own output folder"))
        return False
    if key in entered:
        first = entered[key]
        loop = folder.is_relative_to(first)
        reason = "link loop back to" if loop else "same folder as"
        skipped.append(Skipped(str(folder), f"{reason} {first}"))
        return False
    entered[key] = folder
    return True


def _file_key(path: Path) -> tuple[tuple[int, int] | None, str]:
    """The identity of the file ``path`` names, or None and why it is no photo input."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, "broken link" if path.is_symlink() else "vanished while listed"
    except OSError as exc:
        return None, f"cannot stat ({exc.strerror or exc})"
    return (_key(st), "") if stat.S_ISREG(st.st_mode) else (None, "not a regular file")
