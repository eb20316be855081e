"""Write core/models/imagenet_hypernyms.tsv: each ImageNet class's WordNet ancestors.

    apt-get install wordnet-base                      # WordNet 3.0 (Princeton), Debian
    pip download --no-deps -d /tmp/timm timm          # its wheel ships the 1000 class wnids
    unzip -o /tmp/timm/timm-*.whl 'timm/data/_info/imagenet_synsets.txt' -d /tmp/timm
    python scripts/imagenet_hierarchy.py /tmp/timm/timm/data/_info/imagenet_synsets.txt \
        /usr/share/wordnet/data.noun core/models/imagenet_hypernyms.tsv

ImageNet's classes are WordNet 3.0 noun synsets; a wnid is ``n`` + the synset's offset in
``data.noun``. The synset list is in class-index order (sorted wnids), the order of
core/models/imagenet_labels_*.txt. For each class the file holds its wnid, its first WordNet
lemma and every ancestor reached through hypernym and instance-hypernym pointers, nearest
first (breadth first). Nothing here is written by hand: core.explainers.naming reads the file
to find a class's broader word.
"""

from __future__ import annotations

import sys
from collections import deque
from pathlib import Path


def read_nouns(path: Path) -> dict[str, tuple[str, list[str]]]:
    """``{offset: (first lemma, [hypernym offsets])}`` of WordNet's ``data.noun``."""
    out: dict[str, tuple[str, list[str]]] = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if not line or line.startswith("  "):  # the licence header
            continue
        fields = line.split(" ")
        offset, count = fields[0], int(fields[3], 16)
        lemma = fields[4]
        i = 4 + 2 * count
        pointers = int(fields[i])
        parents = []
        for k in range(pointers):
            symbol, target, pos = fields[i + 1 + 4 * k : i + 4 + 4 * k]
            if symbol in ("@", "@i") and pos == "n":
                parents.append(target)
        out[offset] = (lemma, parents)
    return out


def ancestors(offset: str, nouns: dict[str, tuple[str, list[str]]]) -> list[str]:
    """Every ancestor of ``offset``, nearest first (breadth first, each once)."""
    seen: list[str] = []
    queue = deque(nouns[offset][1])
    while queue:
        parent = queue.popleft()
        if parent in seen:
            continue
        seen.append(parent)
        queue.extend(nouns[parent][1])
    return seen


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    synsets = Path(argv[0]).read_text(encoding="utf-8").split()
    nouns = read_nouns(Path(argv[1]))
    lines = [
        "# ImageNet-1k classes (index order): wnid, first WordNet 3.0 lemma, every ancestor",
        "# (hypernyms and instance hypernyms, nearest first). Written by",
        "# scripts/imagenet_hierarchy.py from timm's imagenet_synsets.txt and Debian's",
        "# wordnet-base data.noun; do not edit by hand.",
    ]
    for wnid in synsets:
        offset = wnid[1:]
        lemma = nouns[offset][0]
        lines.append("\t".join([wnid, lemma, " ".join("n" + a for a in ancestors(offset, nouns))]))
    Path(argv[2]).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(synsets)} classes -> {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
