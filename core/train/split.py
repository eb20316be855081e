"""The validation split: whole groups of photos (e.g. one place) on one side, stratified by class."""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.datasets import LabelledFolder, Sample, scan_labelled_folder
from core.errors import DataError

log = logging.getLogger("wordcam.train")


@dataclass
class Split:
    """Indices into the dataset's samples for training and validation, plus how they were made."""

    train: list[int]
    val: list[int]
    groups: int
    unmatched: int


def group_key(rel_path: str, pattern: re.Pattern[str] | None) -> tuple[str, bool]:
    """The group of a photo: the regex's first group (or whole match) over its relative path.

    Returns ``(key, matched)``; a path the regex does not match is a group of its own.
    """
    if pattern is None:
        return rel_path, True
    m = pattern.search(rel_path)
    if not m:
        return rel_path, False
    if m.groups() and m.group(1) is not None:
        return m.group(1), True
    return m.group(0), True


def compile_group_pattern(group_by: str | None) -> re.Pattern[str] | None:
    """Compile ``--group-by``; a bad regex is a one-line :class:`DataError`."""
    if not group_by:
        return None
    try:
        return re.compile(group_by)
    except re.error as exc:
        raise DataError(
            f"--group-by {group_by!r} is not a valid regular expression ({exc})"
        ) from None


def split_samples(
    samples: Sequence[Sample],
    val_fraction: float,
    group_by: str | re.Pattern[str] | None = None,
    seed: int = 0,
) -> Split:
    """Split into train/val with whole groups on one side, stratified by class.

    Each group belongs to the class most of its photos have; per class, shuffled groups move
    to validation until about ``val_fraction`` of that class's photos are there (at least one
    group when the class has two or more; never all of them).
    """
    import numpy as np

    pattern = compile_group_pattern(group_by) if isinstance(group_by, str) else group_by
    members: dict[str, list[int]] = defaultdict(list)
    unmatched = 0
    for i, s in enumerate(samples):
        key, matched = group_key(s.rel, pattern)
        unmatched += not matched
        members[key].append(i)
    by_class: dict[int, list[str]] = defaultdict(list)
    class_size: Counter[int] = Counter()
    for key in sorted(members):
        label = Counter(samples[i].label for i in members[key]).most_common(1)[0][0]
        by_class[label].append(key)
        class_size[label] += len(members[key])
    rng = np.random.default_rng(seed)
    train: list[int] = []
    val: list[int] = []
    for label in sorted(by_class):
        keys = by_class[label]
        order = [keys[j] for j in rng.permutation(len(keys))]
        target = val_fraction * class_size[label]
        in_val = 0
        chosen: set[str] = set()
        if val_fraction > 0 and len(order) >= 2:
            for key in order:
                if in_val >= target:
                    break
                size = len(members[key])
                # never overshoot by far, never leave the class without training photos
                if in_val + size <= max(1.5 * target, 1) and in_val + size < class_size[label]:
                    chosen.add(key)
                    in_val += size
            if not chosen:  # every group is big: take the smallest one
                chosen.add(min(order, key=lambda k: len(members[k])))
        for key in keys:
            (val if key in chosen else train).extend(members[key])
    return Split(sorted(train), sorted(val), len(members), unmatched)


def make_split(
    data: LabelledFolder,
    val_dir: str | Path | None,
    val_split: float,
    group_by: str | None,
    seed: int,
) -> tuple[list[Sample], list[Sample], dict]:
    """Training and validation samples (from ``val_dir`` or a grouped split of ``data``)."""
    pattern = compile_group_pattern(group_by)
    if val_dir is not None:
        val_data = scan_labelled_folder(
            val_dir, classes=data.classes, min_classes=1, what="--val-dir"
        )
        data.skipped.extend(val_data.skipped)
        info = {"kind": "folder", "val_dir": str(val_data.root)}
        return data.samples, val_data.samples, info
    split = split_samples(data.samples, val_split, pattern, seed)
    if pattern is not None and split.unmatched:
        log.warning(
            "--group-by %r matched no group in %d of %d paths (each such photo is its own group)",
            group_by,
            split.unmatched,
            len(data.samples),
        )
    info = {
        "kind": "grouped" if pattern else "random",
        "val_split": val_split,
        "group_by": group_by,
        "groups": split.groups,
        "unmatched": split.unmatched,
    }
    no_val = [
        data.classes[c]
        for c in range(len(data.classes))
        if not any(data.samples[i].label == c for i in split.val)
    ]
    if val_split > 0 and no_val:
        log.warning("no validation photos for %s (too few photos or groups)", ", ".join(no_val))
    return ([data.samples[i] for i in split.train], [data.samples[i] for i in split.val], info)


def class_counts(samples: Sequence[Sample], classes: Sequence[str]) -> dict[str, int]:
    """Photos per class name, in class order (0 for a class with none)."""
    counts = Counter(s.label for s in samples)
    return {name: int(counts.get(i, 0)) for i, name in enumerate(classes)}
