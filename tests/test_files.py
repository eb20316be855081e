"""core.files: a file in a user's folder is written whole or not at all, never through a link."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from core.files import replace_file, replace_text


def test_a_link_under_the_name_is_replaced_and_its_target_left_alone(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").symlink_to(victim)

    replace_text(out / "metrics.json", '{"accuracy": 1}')

    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not (out / "metrics.json").is_symlink()
    assert (out / "metrics.json").read_text(encoding="utf-8") == '{"accuracy": 1}'


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "bench.json"
    target.write_text("old", encoding="utf-8")

    def full_disk(fh):
        fh.write(b"half of the new ")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        replace_file(target, full_disk)
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json"]


def test_ctrl_c_in_the_middle_keeps_the_old_file(tmp_path):
    target = tmp_path / "weights.pt"
    target.write_bytes(b"old weights")

    def interrupted(fh):
        fh.write(b"new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_file(target, interrupted)
    assert target.read_bytes() == b"old weights"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.pt"]


def test_the_new_file_gets_the_usual_permissions_not_mkstemps_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        replace_text(tmp_path / "suite.md", "# suite\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "suite.md").stat().st_mode) == 0o644


def test_the_confusion_picture_is_not_written_through_a_planted_link(tmp_path):
    from PIL import Image

    from core.render import save_confusion_png

    victim = tmp_path / "victim.png"
    victim.write_bytes(b"not a picture")
    (tmp_path / "confusion_matrix.png").symlink_to(victim)
    metrics = {"labels": ["a", "b"], "confusion_matrix": [[3, 1], [0, 4]]}

    save_confusion_png(metrics, tmp_path / "confusion_matrix.png")

    assert victim.read_bytes() == b"not a picture"
    assert not (tmp_path / "confusion_matrix.png").is_symlink()
    assert Image.open(tmp_path / "confusion_matrix.png").size[0] > 0
