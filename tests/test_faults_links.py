"""Links planted among the files a job writes beside its DB: never written through.

Issue 22 closed the lock, work and copy files (``tests/test_faults.py``). The files left open
then are probed here: the progress file's atomic write and its fallback rewrite (a full disk),
the pictures of a photo job in ``<db>_assets/run<N>`` and those of ``wordcam verify`` in
``<db>_assets/run<N>/verify``, as a linked file (replaced, its target untouched) or a linked
folder (refused in one line, nothing written through it). ``docs/reliability.md`` maps each
promise to its test.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from pathlib import Path

import pytest
from test_faults import JOB, assert_published_complete, job, template  # noqa: F401 (fixtures)
from test_verify import verified_db  # noqa: F401 (a fixture: a run with word regions)

from core.cli import main
from core.errors import DataError
from core.jobs import read_progress, run_precompute
from core.jobs.progress import ProgressFile, progress_path
from core.store import asset_dir, connect_read

PRECIOUS = "precious"


def victim_file(tmp_path: Path, name: str = "victim.txt") -> Path:
    victim = tmp_path / name
    victim.write_text(PRECIOUS, encoding="utf-8")
    return victim


def untouched(victim: Path) -> bool:
    return victim.read_text(encoding="utf-8") == PRECIOUS


# ----------------------------------------------------------------------------- progress file


def test_progress_fallback_never_writes_through_a_link(tmp_path: Path, monkeypatch) -> None:
    """A full disk refuses the atomic rename, so the record is rewritten in place: a link
    planted as ``<db>.progress.json`` is left alone, its target untouched, the job unharmed."""
    db = tmp_path / "wc.duckdb"
    victim = victim_file(tmp_path)
    progress_path(db).symlink_to(victim)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    progress = ProgressFile(db, total=3, done=0, run_id=1, show=False)
    monkeypatch.setattr(os, "replace", disk_full)
    progress.write("running")  # progress is a courtesy: never raises
    monkeypatch.undo()
    assert untouched(victim)
    assert progress_path(db).is_symlink()
    assert not list(tmp_path.glob("*.tmp")), "the temporary file was left behind"


def test_progress_temporary_file_never_written_through_a_link(tmp_path: Path) -> None:
    """A link planted under the temporary file's name (``<db>.progress.json.<pid>.tmp``, a
    guessable name) is replaced by the record, never written through."""
    db = tmp_path / "wc.duckdb"
    victim = victim_file(tmp_path)
    progress = ProgressFile(db, total=3, done=1, run_id=1, show=False)
    tmp = progress_path(db).with_name(progress_path(db).name + f".{os.getpid()}.tmp")
    tmp.symlink_to(victim)
    progress.write("running", "one done")
    assert untouched(victim)
    record = read_progress(db)
    assert record is not None and record["status"] == "running" and record["done"] == 1
    assert not progress_path(db).is_symlink() and not tmp.exists()


def test_progress_in_place_rewrite_still_works(tmp_path: Path, monkeypatch) -> None:
    """The fallback still does its job on a real file: the record is rewritten where it is."""
    db = tmp_path / "wc.duckdb"
    progress = ProgressFile(db, total=3, done=0, run_id=1, show=False)
    progress.write("running")
    monkeypatch.setattr(os, "replace", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "full")))
    progress.done = 2
    progress.write("interrupted", "stopped")
    monkeypatch.undo()
    record = read_progress(db)
    assert record is not None and record["status"] == "interrupted" and record["done"] == 2


# ----------------------------------------------------------------------------- photo pictures


def pictures_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".png", ".jpg"))


def test_pictures_never_written_through_a_linked_file(job, tmp_path: Path) -> None:  # noqa: F811
    """A link planted under a picture's name in ``<db>_assets/run1`` (overlay, marks,
    thumbnail) is replaced by the picture; its target keeps its bytes."""
    photos, db = job
    fresh = db.with_name("fresh.duckdb")
    shutil.copyfile(db, fresh)  # the template, before this job adds its photos
    assert run_precompute(photos, db, **JOB).status == "done"
    folder = asset_dir(db) / "run1"
    names = [p.name for p in pictures_of(folder)]
    assert len(names) == 3 * 3, names  # three pictures of each of the three new photos
    shutil.rmtree(asset_dir(db))
    os.replace(fresh, db)  # the same job again, its pictures now under planted links
    folder.mkdir(parents=True)
    victim = victim_file(tmp_path)
    for name in names:
        (folder / name).symlink_to(victim)
    summary = run_precompute(photos, db, **JOB)
    assert summary.status == "done" and summary.done == 3 and summary.failed == 0
    assert untouched(victim)
    assert all((folder / n).is_file() and not (folder / n).is_symlink() for n in names)
    assert_published_complete(db, 6)


@pytest.mark.parametrize("linked", ["wc_assets", "wc_assets/run1"])
def test_a_linked_picture_folder_is_refused_in_one_line(
    job,  # noqa: F811
    tmp_path: Path,
    capsys,
    linked: str,
) -> None:
    """``<db>_assets`` or its run folder as a link (to anywhere) is refused before the first
    picture: one line, nothing written into the link's target, the published DB kept."""
    photos, db = job
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / linked
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(elsewhere, target_is_directory=True)
    code = main(["precompute", str(photos), "--db", str(db), "--model", "tiny",
                 "--explainer", "testwords", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "link" in err and str(link) in err and len(err.strip().splitlines()) == 1, err
    assert list(elsewhere.iterdir()) == []
    assert link.is_symlink()
    assert_published_complete(db)
    with connect_read(db) as con:
        assert con.execute("SELECT count(*) FROM images").fetchone()[0] == 3


def test_folder_no_follow_refuses_links_and_files(tmp_path: Path) -> None:
    """The folder maker: makes what is missing, accepts real folders, refuses a link or a file
    anywhere below its base (the base itself may be reached through a link)."""
    from core.store.nofollow import folder_no_follow

    real = tmp_path / "real"
    real.mkdir()
    base = tmp_path / "base"
    base.symlink_to(real, target_is_directory=True)  # the user's folder, through a link
    made = folder_no_follow(base / "a" / "b", below=base)
    assert made.is_dir() and (real / "a" / "b").is_dir()
    assert folder_no_follow(base / "a" / "b", below=base) == made  # again: nothing to do
    (real / "a" / "c").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(DataError, match="symbolic link"):
        folder_no_follow(base / "a" / "c" / "d", below=base)
    assert not (tmp_path / "d").exists()
    (real / "a" / "f").write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match="not a folder"):
        folder_no_follow(base / "a" / "f", below=base)
    (real / "dangling").symlink_to(tmp_path / "nowhere", target_is_directory=True)
    with pytest.raises(DataError, match="symbolic link"):
        folder_no_follow(base / "dangling", below=base)
    assert not (tmp_path / "nowhere").exists()


# ----------------------------------------------------------------------------- verify pictures

VERIFY = ["--top", "2", "--no-progress", "--batch-size", "2"]


def test_verify_pictures_never_written_through_a_link(
    verified_db,  # noqa: F811
    tmp_path: Path,
    capsys,
) -> None:
    """The hidden and control pictures of ``wordcam verify``: a link under a picture's name
    is replaced, its target untouched; a linked ``verify`` folder is refused in one line."""
    db = tmp_path / "wc.duckdb"
    shutil.copyfile(verified_db, db)
    assert main(["verify", "--db", str(db), *VERIFY]) == 0
    folder = next(asset_dir(db).glob("run*/verify"))
    names = [p.name for p in pictures_of(folder)]
    assert names, "verify wrote no pictures"
    # The same verification again, its pictures' names now planted links.
    shutil.rmtree(asset_dir(db))
    shutil.copyfile(verified_db, db)
    folder.mkdir(parents=True)
    victim = victim_file(tmp_path)
    for name in names:
        (folder / name).symlink_to(victim)
    assert main(["verify", "--db", str(db), *VERIFY]) == 0
    assert untouched(victim)
    assert all(not (folder / n).is_symlink() for n in names)
    # The folder itself a link: one line, nothing written there.
    shutil.rmtree(asset_dir(db))
    shutil.copyfile(verified_db, db)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder.parent.mkdir(parents=True)
    folder.symlink_to(elsewhere, target_is_directory=True)
    capsys.readouterr()
    assert main(["verify", "--db", str(db), *VERIFY]) == 1
    err = capsys.readouterr().err
    assert "link" in err and len(err.strip().splitlines()) == 1, err
    assert list(elsewhere.iterdir()) == []


# ----------------------------------------------------------------------------- Ray's shards


def test_a_linked_shard_folder_is_refused_before_ray_starts(job, tmp_path: Path) -> None:  # noqa: F811
    """The Ray engine's shard folder (``<db>_assets/run1.shards``) as a link would send the
    actors' shards elsewhere and merge whatever lies there: refused in one line, before Ray."""
    photos, db = job
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = asset_dir(db) / "run1.shards"
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(DataError, match="symbolic link") as raised:
        run_precompute(photos, db, **{**JOB, "engine": "ray"})
    assert "\n" not in str(raised.value) and str(link) in str(raised.value)
    assert list(elsewhere.iterdir()) == [] and link.is_symlink()
    ray = sys.modules.get("ray")
    assert ray is None or not ray.is_initialized(), "Ray was started before the refusal"
    assert_published_complete(db)


def test_a_linked_verify_shard_folder_is_refused_in_one_line(
    verified_db,  # noqa: F811
    tmp_path: Path,
    capsys,
) -> None:
    """The same for ``wordcam verify --engine ray``'s shard folder (``verify-<key>.shards``)."""
    from core.store.nofollow import folder_no_follow

    db = tmp_path / "wc.duckdb"
    shutil.copyfile(verified_db, db)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real = folder_no_follow

    def plant(path, below):  # the shard folder is named by the settings' key: plant it then
        if Path(path).name.endswith(".shards"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).symlink_to(elsewhere, target_is_directory=True)
        return real(path, below)

    import core.store.nofollow as nofollow

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nofollow, "folder_no_follow", plant)
        assert main(["verify", "--db", str(db), *VERIFY, "--engine", "ray"]) == 1
    err = capsys.readouterr().err
    assert "symbolic link" in err and len(err.strip().splitlines()) == 1, err
    assert list(elsewhere.iterdir()) == []


# ----------------------------------------------------------------------------- report and job logs


def test_markdown_report_pictures_never_written_through_a_link(tmp_path: Path) -> None:
    """``report.md``'s pictures have guessable names beside it (``report_images/NNN.png``): a
    planted file link is replaced (its target untouched), a linked folder refused in one line."""
    from synthetic_db import make_db

    db = make_db(tmp_path / "report.duckdb", n_images=200)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    victim = victim_file(tmp_path)
    (out_dir / "report_images").mkdir()
    (out_dir / "report_images" / "001.png").symlink_to(victim)
    assert main(["report", "--db", str(db), "--out", str(out_dir / "report.md")]) == 0
    assert untouched(victim)
    assert not (out_dir / "report_images" / "001.png").is_symlink()

    shutil.rmtree(out_dir / "report_images")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out_dir / "report_images").symlink_to(elsewhere, target_is_directory=True)
    assert main(["report", "--db", str(db), "--out", str(out_dir / "report.md")]) != 0
    assert list(elsewhere.iterdir()) == []


def test_dashboard_job_log_never_written_through_a_link(tmp_path: Path) -> None:
    """The dashboard's job log lies beside the DB under a guessable name: made anew, never
    through a planted link."""
    from dashboard.job import spawn

    victim = victim_file(tmp_path)
    log = tmp_path / "w.duckdb.precompute.log"
    log.symlink_to(victim)
    process = spawn([sys.executable, "-c", "print('job output')"], log)
    assert process.wait(timeout=60) == 0
    assert untouched(victim)
    assert not log.is_symlink() and "job output" in log.read_text(encoding="utf-8")
