"""Peak memory of the photo job on huge images, with and without the per-batch pixel budget.

Writes N tiny-on-disk PNGs of W x H pixels (default four of 11000 x 10000), then runs the job
in a fresh child process per setting (the test suite's tiny model and pixel-only explainer,
batch size 16) and prints each child's peak RSS (``ru_maxrss``)::

    python benchmarks/bench_huge_images.py [--count 4] [--width 11000] [--height 10000]

``budget off`` sets ``batch_pixels`` so high that a batch holds every photo at once (the job
before the budget); ``default`` is :data:`core.jobs.settings.BATCH_PIXELS`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import importlib.util, json, resource, sys
spec = importlib.util.spec_from_file_location("backends", {tests!r})
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
from core.jobs import run_precompute
photos, db, pixels = sys.argv[1], sys.argv[2], int(sys.argv[3])
summary = run_precompute(photos, db, model="tiny", explainer="testwords", batch_size=16,
                         batch_pixels=pixels, progress=False)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"done": summary.done, "failed": summary.failed, "peak_mb": peak_mb}}))
"""


def make_photos(folder: Path, count: int, width: int, height: int) -> None:
    from PIL import Image

    (folder / "猫").mkdir(parents=True)
    image = Image.new("RGB", (width, height), (200, 30, 30))
    for k in range(count):
        image.save(folder / "猫" / f"huge_{k}.png", compress_level=1)


def peak(photos: Path, db: Path, pixels: int) -> dict:
    script = CHILD.format(tests=str(ROOT / "tests" / "test_precompute.py"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", script, str(photos), str(db), str(pixels)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    from core.jobs.settings import BATCH_PIXELS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--width", type=int, default=11000)
    parser.add_argument("--height", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        make_photos(photos, args.count, args.width, args.height)
        print(f"{args.count} photos of {args.width}x{args.height}, batch size 16")
        for name, pixels in (("budget off", 10**15), ("default", BATCH_PIXELS)):
            result = peak(photos, Path(tmp) / f"{name.replace(' ', '_')}.duckdb", pixels)
            print(f"{name:>10}: peak RSS {result['peak_mb']:,.0f} MB ({result['done']} done)")
    print("load average:", Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
