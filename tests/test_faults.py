"""Fault injection: the job interrupted at each step of the store's life, then rerun.

Each test starts from a published DB holding a finished run over the first three photos, makes
the job that adds the other three fail at one step (the copy of the DB to the work file, a
batch write, the snapshot copy, the rename over the DB, the close), then checks that the
published DB is still readable and complete, and that a rerun ends with every photo exactly
once. Faults are injected, never timed: the store's ``copy_file`` / ``os.replace`` / the batch
write replaced by a function that raises (in process), or that kills its process with
SIGKILL at that point (a child process, ``@pytest.mark.slow`` where it costs seconds).

Issue 22's store probes follow: a work file with a damaged block, links planted as the lock,
work and copy files, ``--db`` through a link, a DB inside its photo folder, a full disk and
kill -9 during verify. ``tests/test_faults_inputs.py`` holds the rest of the suite and
``docs/reliability.md`` maps every promise to its test.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from synthetic_db import make_db
from test_precompute import HERE as PRECOMPUTE_TESTS
from test_precompute import ROOT, make_photos
from test_verify import verified_db  # noqa: F401 (a fixture: a run with word regions)

import core.store.writer as store_writer
from core.cli import main
from core.errors import DataError
from core.jobs import read_progress, run_precompute
from core.store import asset_dir, connect_read, work_path

JOB = {"model": "tiny", "explainer": "testwords", "batch_size": 1, "progress": False}
FIRST = 3  # photos in the published DB before the faulty job
ALL = 6


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A photo folder of 6 photos and a DB whose run has the first 3 of them done."""
    base = tmp_path_factory.mktemp("faults")
    photos = make_photos(base / "photos", per_class=2, broken=False)
    db = base / "template.duckdb"
    summary = run_precompute(photos, db, limit=FIRST, **JOB)
    assert summary.done == FIRST and summary.status == "done"
    return photos, db


@pytest.fixture
def job(template: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """(photos, db): a private copy of the template DB."""
    photos, db = template
    mine = tmp_path / "wc.duckdb"
    shutil.copyfile(db, mine)
    return photos, mine


def assert_published_complete(db: Path, at_least: int = FIRST) -> None:
    """The published DB reads in full and holds the finished photos, each once."""
    with connect_read(db) as con:
        for table in ("runs", "images", "explanations", "tokens", "terms", "doc_terms"):
            con.execute(f"SELECT * FROM {table}").fetchall()  # every block read
        rows = con.execute(
            "SELECT count(*), count(DISTINCT path), count(*) FILTER (WHERE status = 'done')"
            " FROM images"
        ).fetchone()
        explained = con.execute("SELECT count(*) FROM explanations").fetchone()[0]
    assert rows[0] == rows[1], "a photo stored twice"
    assert rows[2] >= at_least and explained >= at_least


def assert_rerun_exact(photos: Path, db: Path) -> None:
    """A rerun without faults finishes the run: every photo exactly once, nothing left over."""
    summary = run_precompute(photos, db, **JOB)
    assert summary.status == "done" and summary.failed == 0
    assert summary.done + summary.skipped_existing == ALL
    assert summary.skipped_existing >= FIRST, "the published photos were not recomputed"
    with connect_read(db) as con:
        assert con.execute(
            "SELECT count(*), count(DISTINCT path), count(*) FILTER (WHERE status = 'done')"
            " FROM images"
        ).fetchone() == (ALL, ALL, ALL)
        assert con.execute("SELECT count(*) FROM explanations").fetchone()[0] == ALL
        assert con.execute("SELECT count(*) FROM tokens").fetchone()[0] == ALL
        assert con.execute("SELECT count(*), min(status) FROM runs").fetchone() == (1, "done")
    assert not work_path(db).exists()


def partial_copy(src: str | os.PathLike, dst: str | os.PathLike, share: float = 0.5) -> None:
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * share)])


def fail_copy_to(monkeypatch, matches, error: BaseException, share: float = 0.5) -> None:
    """The store's copy to a path ``matches`` accepts writes ``share`` of it, then raises."""
    real = store_writer.copy_file

    def copyfile(src, dst, *args, **kwargs):
        if matches(Path(dst)):
            partial_copy(src, dst, share)
            raise error
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(store_writer, "copy_file", copyfile)


def is_work_copy(path: Path) -> bool:
    return path.name.endswith((".work", ".work.tmp"))


def is_snapshot_copy(path: Path) -> bool:
    return path.name.endswith(".duckdb.tmp")


def fail_write_after(monkeypatch, batches: int, error: BaseException) -> None:
    """The batch write succeeds ``batches`` times, then raises ``error``."""
    import core.jobs.session as session

    real = session.write_rows
    calls = {"n": 0}

    def write_rows(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > batches:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(session, "write_rows", write_rows)


def leave_work_file(monkeypatch, photos: Path, db: Path) -> None:
    """A job interrupted after one new photo: its work file is left for the rerun."""
    with monkeypatch.context() as patch:
        fail_write_after(patch, 1, KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            run_precompute(photos, db, **JOB)
    assert work_path(db).exists()


# ----------------------------------------------------------------------------- copy


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(errno.EIO, "I/O error")])
def test_copy_to_work_file_interrupted(monkeypatch, job, error) -> None:
    photos, db = job
    with monkeypatch.context() as patch:
        fail_copy_to(patch, is_work_copy, error)
        with pytest.raises(type(error)):
            run_precompute(photos, db, **JOB)
    assert_published_complete(db)
    assert_rerun_exact(photos, db)


@pytest.mark.parametrize("share", [0.0, 0.01, 0.25, 0.5, 0.9])
def test_truncated_work_file_is_rebuilt_never_published(monkeypatch, job, share) -> None:
    photos, db = job
    leave_work_file(monkeypatch, photos, db)
    work = work_path(db)
    os.truncate(work, int(work.stat().st_size * share))
    Path(str(work) + ".wal").unlink(missing_ok=True)
    assert_rerun_exact(photos, db)
    assert_published_complete(db, ALL)


@pytest.mark.parametrize("kind", ["not duckdb", "no tables"])
def test_work_file_of_another_kind_is_rebuilt(monkeypatch, job, kind) -> None:
    photos, db = job
    leave_work_file(monkeypatch, photos, db)
    work = work_path(db)
    work.unlink()
    Path(str(work) + ".wal").unlink(missing_ok=True)
    if kind == "not duckdb":
        work.write_bytes(b"PK\x03\x04 a zip file, not a database" * 100)
    else:
        duckdb.connect(str(work)).close()
    assert_rerun_exact(photos, db)


def test_damaged_published_db_is_refused_not_overwritten(job) -> None:
    photos, db = job
    os.truncate(db, db.stat().st_size // 2)
    size = db.stat().st_size
    with pytest.raises(DataError, match="not a readable wordcam database"):
        run_precompute(photos, db, **JOB)
    assert db.stat().st_size == size and not work_path(db).exists()


# ----------------------------------------------------------------------------- write


@pytest.mark.parametrize(
    "error",
    [
        KeyboardInterrupt(),
        duckdb.IOException('IO Error: Could not write file "x": No space left on device'),
        OSError(errno.ENOSPC, "No space left on device"),
        duckdb.ConstraintException("Constraint Error: Duplicate key"),
    ],
    ids=["ctrl-c", "duckdb-enospc", "enospc", "constraint"],
)
def test_batch_write_fails(monkeypatch, job, error) -> None:
    photos, db = job
    with monkeypatch.context() as patch:
        fail_write_after(patch, 1, error)
        expected = KeyboardInterrupt if isinstance(error, KeyboardInterrupt) else DataError
        with pytest.raises(expected) as raised:
            run_precompute(photos, db, **JOB)
    if expected is DataError:
        assert "\n" not in str(raised.value) and "rerun" in str(raised.value)
        assert read_progress(db)["status"] == "failed"
    assert_published_complete(db, FIRST + 1)  # the batch written before the fault is kept
    assert_rerun_exact(photos, db)


# ----------------------------------------------------------------------------- publish


@pytest.mark.parametrize(
    "error", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device")]
)
def test_snapshot_copy_fails(monkeypatch, job, error) -> None:
    photos, db = job
    with monkeypatch.context() as patch:
        fail_copy_to(patch, is_snapshot_copy, error)
        with pytest.raises((type(error), DataError)):
            run_precompute(photos, db, **JOB)
    assert_published_complete(db)
    assert_rerun_exact(photos, db)


def test_torn_snapshot_is_never_published(monkeypatch, job) -> None:
    """A copy that silently comes out short fails the check: the DB is kept as it was."""
    photos, db = job
    real = store_writer.copy_file

    def short_copy(src, dst, *args, **kwargs):
        if is_snapshot_copy(Path(dst)):
            return partial_copy(src, dst, 0.5)
        return real(src, dst, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(store_writer, "copy_file", short_copy)
        with pytest.raises(DataError, match="failed its check"):
            run_precompute(photos, db, **JOB)
    assert_published_complete(db)
    assert_rerun_exact(photos, db)


def test_rename_over_db_fails(monkeypatch, job) -> None:
    photos, db = job
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst) == db:
            raise OSError(errno.EIO, "I/O error")
        return real(src, dst, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", replace)
        with pytest.raises((OSError, DataError)):
            run_precompute(photos, db, **JOB)
    assert_published_complete(db)
    assert_rerun_exact(photos, db)


# ----------------------------------------------------------------------------- close


def test_close_fails_before_removing_the_work_file(monkeypatch, job) -> None:
    photos, db = job
    real = Path.unlink

    def unlink(self, *args, **kwargs):
        if self.name.endswith(".work"):
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "unlink", unlink)
        with pytest.raises(KeyboardInterrupt):
            run_precompute(photos, db, **JOB)
    assert_published_complete(db, ALL)  # published before the close failed
    assert_rerun_exact(photos, db)


# ----------------------------------------------------------------------------- SIGKILL

KILL_SCRIPT = f"""
import importlib.util, os, pathlib, shutil, signal, sys
spec = importlib.util.spec_from_file_location("precompute_test_backends", {str(PRECOMPUTE_TESTS)!r})
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
fault, at = os.environ["WORDCAM_FAULT"], int(os.environ.get("WORDCAM_FAULT_AT", "1"))
calls = [0]

def hit():
    calls[0] += 1
    if calls[0] >= at:
        os.kill(os.getpid(), signal.SIGKILL)

import core.store.writer as store_writer
real_copy, real_unlink = store_writer.copy_file, pathlib.Path.unlink

def copyfile(src, dst, *args, **kwargs):
    name = pathlib.Path(dst).name
    wanted = name.endswith((".work", ".work.tmp")) if fault == "copy" else (
        fault == "publish" and name.endswith(".duckdb.tmp"))
    if wanted:
        data = pathlib.Path(src).read_bytes()
        pathlib.Path(dst).write_bytes(data[: len(data) // 2])
        hit()
    return real_copy(src, dst, *args, **kwargs)

def unlink(self, *args, **kwargs):
    if fault == "close" and self.name.endswith(".work"):
        hit()
    return real_unlink(self, *args, **kwargs)

store_writer.copy_file, pathlib.Path.unlink = copyfile, unlink
if fault == "verify":
    import core.verify.job as verify_job
    real_write_photos = verify_job.storage.write_photos

    def write_photos(*args, **kwargs):
        hit()
        return real_write_photos(*args, **kwargs)

    verify_job.storage.write_photos = write_photos
from core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_killed(photos: Path, db: Path, fault: str, at: int = 1, args: list | None = None) -> None:
    """Run the job (or ``args``) in a child that SIGKILLs itself at the fault's point."""
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=pythonpath, OMP_NUM_THREADS="1")
    env.update(WORDCAM_FAULT=fault, WORDCAM_FAULT_AT=str(at))
    if args is None:
        args = ["precompute", str(photos), "--db", str(db), "--model", "tiny"]
        args += ["--explainer", "testwords", "--batch-size", "1", "--no-progress"]
        args += ["--publish-every", "0"]
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize(("fault", "at"), [("copy", 1), ("publish", 3), ("close", 1)])
def test_sigkill_at_each_step(job, fault: str, at: int) -> None:
    photos, db = job
    run_killed(photos, db, fault, at)
    assert_published_complete(db)
    assert_rerun_exact(photos, db)


# ----------------------------------------------------------------------------- 22.1: bad block


def corrupt_a_data_block(path: Path, table: str = "explanations", size: int = 2048) -> int:
    """Overwrite ``size`` bytes inside one data block ``table`` uses; returns the file offset."""
    from core.store.validate import HEADER_BYTES

    with duckdb.connect(str(path), read_only=True) as con:
        block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
        block = con.execute(
            f"SELECT max(block_id) FROM pragma_storage_info('{table}') WHERE persistent"
        ).fetchone()[0]
    assert block is not None and block >= 0, f"{table} has no data block on disk"
    offset = HEADER_BYTES + int(block) * int(block_size) + 512
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(bytes(range(256)) * (size // 256))
    return offset


def test_work_file_with_a_damaged_block_is_never_published(monkeypatch, job) -> None:
    """22.1: a checksum error in one block of the work file moves it aside, never over the DB."""
    from core.store.paths import damaged_work_path

    photos, db = job
    leave_work_file(monkeypatch, photos, db)
    work = work_path(db)
    with duckdb.connect(str(work)) as con:
        con.execute("CHECKPOINT")  # the interrupted job's rows are in blocks, not the WAL
    corrupt_a_data_block(work)
    assert_rerun_exact(photos, db)
    assert_published_complete(db, ALL)
    assert damaged_work_path(db).exists(), "the damaged work file is kept for inspection"


def test_check_db_reads_every_block(tmp_path: Path) -> None:
    from core.store.validate import check_db

    db = tmp_path / "wc.duckdb"
    make_db(db, n_images=300)
    assert check_db(db)[0] is None
    for table in ("explanations", "tokens", "images"):
        copy = tmp_path / f"{table}.duckdb"
        shutil.copyfile(db, copy)
        corrupt_a_data_block(copy, table)
        problem, _ = check_db(copy)
        assert problem is not None and "checksum" in problem, (table, problem)


# ----------------------------------------------------------------------------- 22.5, 22.6: links


def test_lock_file_that_is_a_link_is_not_followed(job, tmp_path: Path) -> None:
    """22.5: a link planted as the lock file is refused in one line; its target is untouched."""
    from core.store import lock_path

    photos, db = job
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    lock_path(db).symlink_to(victim)
    with pytest.raises(DataError, match="link") as raised:
        run_precompute(photos, db, **JOB)
    assert "\n" not in str(raised.value)
    assert victim.read_text(encoding="utf-8") == "precious"
    assert_published_complete(db)


def test_work_file_that_is_a_link_is_not_written_through(job, tmp_path: Path) -> None:
    """22.5: a work file that is a link (even to a sound DB) is moved aside, its target kept."""
    photos, db = job
    victim = tmp_path / "victim.duckdb"
    shutil.copyfile(db, victim)
    before = victim.read_bytes()
    work_path(db).symlink_to(victim)
    assert_rerun_exact(photos, db)
    assert victim.read_bytes() == before


@pytest.mark.parametrize("name", ["wc.duckdb.tmp", "wc.duckdb.work.tmp"])
def test_copies_never_write_through_a_link(tmp_path: Path, name: str) -> None:
    """22.5: the snapshot and work copies are created new; a link in their place is replaced."""
    from core.store.writer import copy_file

    src, victim = tmp_path / "src.bin", tmp_path / "victim.txt"
    src.write_bytes(b"new bytes")
    victim.write_text("precious", encoding="utf-8")
    (tmp_path / name).symlink_to(victim)
    copy_file(src, tmp_path / name)
    assert victim.read_text(encoding="utf-8") == "precious"
    assert not (tmp_path / name).is_symlink() and (tmp_path / name).read_bytes() == b"new bytes"


def test_db_through_a_link_writes_the_real_file(job, tmp_path: Path) -> None:
    """22.6: --db through a link: the link stays a link and the real DB gets the results."""
    photos, real = job
    link = tmp_path / "elsewhere" / "link.duckdb"
    link.parent.mkdir()
    link.symlink_to(real)
    summary = run_precompute(photos, link, **JOB)
    assert summary.status == "done"
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert_published_complete(real, ALL)
    assert not work_path(link).exists() and not work_path(real).exists()


def test_writer_lock_covers_the_link_and_the_real_path(job, tmp_path: Path) -> None:
    """22.6: a writer through the link and one through the real path exclude each other."""
    from core.store import StoreWriter

    _, real = job
    link = tmp_path / "link.duckdb"
    link.symlink_to(real)
    with StoreWriter(link), pytest.raises(DataError, match="being written"):
        StoreWriter(real)


# ----------------------------------------------------------------------------- 22.7: DB inside


def test_db_inside_the_photo_folder_does_not_eat_its_own_outputs(tmp_path: Path) -> None:
    """22.7: the second run does not take the first run's overlay PNGs in as a class."""
    photos = make_photos(tmp_path / "inside", per_class=1, broken=False)
    db = photos / "w.duckdb"
    first = run_precompute(photos, db, **JOB)
    assert first.done == 3 and any(asset_dir(db).rglob("*.png")), "no outputs to eat"
    second = run_precompute(photos, db, **JOB)
    assert second.done == 0 and second.skipped_existing == 3
    with connect_read(db) as con:
        labels = {r[0] for r in con.execute("SELECT DISTINCT true_label FROM images").fetchall()}
    assert labels == {"猫", "コーヒー", "ロケット"}


# ----------------------------------------------------------------------------- earlier audits


def test_a_second_writer_is_refused_in_one_line(job) -> None:
    from core.store import StoreWriter

    _, db = job
    with StoreWriter(db), pytest.raises(DataError, match="being written") as raised:
        StoreWriter(db)
    assert "\n" not in str(raised.value) and str(os.getpid()) in str(raised.value)


def test_disk_full_during_verify_is_one_line_and_resumes(
    verified_db,  # noqa: F811 (the fixture imported above)
    tmp_path,
    capsys,
    monkeypatch,
):
    """The audit's full disk during verify: one line, the published DB intact, then resumed."""
    import core.verify.job as verify_job

    db = tmp_path / "wc.duckdb"
    shutil.copyfile(verified_db, db)
    real = verify_job.storage.write_photos
    calls = {"n": 0}

    def write_photos(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    args = ["verify", "--db", str(db), "--top", "2", "--no-progress", "--batch-size", "2"]
    with monkeypatch.context() as patch:
        patch.setattr(verify_job.storage, "write_photos", write_photos)
        assert main(args) == 1
    err = capsys.readouterr().err
    assert "disk full" in err and len(err.strip().splitlines()) == 1, err
    with connect_read(db) as con:
        assert con.execute("SELECT count(*) FROM word_effect_photos").fetchone()[0] == 2
    assert main(args) == 0
    with connect_read(db) as con:
        assert con.execute("SELECT count(*) FROM word_effect_photos").fetchone()[0] > 2
    assert not work_path(db).exists()


@pytest.mark.slow
def test_sigkill_during_verify_keeps_the_db_and_resumes(verified_db, tmp_path):  # noqa: F811
    """The audit's kill -9 during verify: the published DB reads in full, a rerun resumes."""
    db = tmp_path / "wc.duckdb"
    shutil.copyfile(verified_db, db)
    args = ["verify", "--db", str(db), "--top", "2", "--no-progress", "--batch-size", "2"]
    run_killed(db.parent, db, "verify", 2, args)
    assert_published_complete(db, 1)
    assert main(args) == 0
    with connect_read(db) as con:
        assert con.execute("SELECT count(*) FROM word_effects").fetchone()[0] > 0
    assert not work_path(db).exists()


@pytest.mark.parametrize("command", ["mine", "report"])
def test_a_damaged_published_db_is_one_line_for_readers(tmp_path: Path, capsys, command) -> None:
    """A reader meeting a checksum error is one line naming the DB, not a traceback."""
    db = tmp_path / "wc.duckdb"
    make_db(db, n_images=300)
    corrupt_a_data_block(db, "explanations")
    argv = [command, "--db", str(db)]
    if command == "report":
        argv += ["--out", str(tmp_path / "r.md")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "checksum" in err and str(db) in err


def test_a_damaged_block_met_while_writing_is_never_published(monkeypatch, job) -> None:
    """22.1: DuckDB's checksum error during the job: the DB is kept as it was, the work file
    moved aside, and the rerun rebuilds it (an index block the publish check cannot read)."""
    from core.store.paths import damaged_work_path

    photos, db = job
    corrupt = duckdb.IOException(
        "Corrupt database file: computed checksum 1 does not match stored checksum 2 in block"
    )
    with monkeypatch.context() as patch:
        fail_write_after(patch, 1, corrupt)
        with pytest.raises(DataError, match="Corrupt database file"):
            run_precompute(photos, db, **{**JOB, "publish_every": 3600})
    with connect_read(db) as con:
        done = con.execute("SELECT count(*) FROM images WHERE status = 'done'").fetchone()[0]
    assert done == FIRST, "a work file that met a damaged block was published"
    assert damaged_work_path(db).exists() and not work_path(db).exists()
    assert_rerun_exact(photos, db)


def test_check_db_also_reads_index_blocks(tmp_path: Path) -> None:
    """22.1: damage in a block no table scan reads (a key's index) is found by the check too."""
    from core.store.validate import HEADER_BYTES, _read_every_block, check_db

    db = tmp_path / "wc.duckdb"
    make_db(db, n_images=300)
    with duckdb.connect(str(db), read_only=True) as con:
        size, total = con.execute(
            "SELECT block_size, total_blocks FROM pragma_database_size()"
        ).fetchone()
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        data = {
            r[0]
            for t in tables
            for r in con.execute(
                f"SELECT DISTINCT block_id FROM pragma_storage_info('{t}') WHERE block_id >= 0"
            ).fetchall()
        }
    caught_only_by_keys = []
    for block in sorted(set(range(1, total)) - data):
        copy = tmp_path / f"b{block}.duckdb"
        shutil.copyfile(db, copy)
        with open(copy, "r+b") as fh:
            fh.seek(HEADER_BYTES + block * size + 512)
            fh.write(b"\xaa" * 2048)
        try:
            with duckdb.connect(str(copy), read_only=True) as con:
                for t in tables:
                    _read_every_block(con, t)
        except duckdb.Error:
            continue  # a block a table scan reads (metadata): not what this test is about
        if check_db(copy)[0] is not None:
            caught_only_by_keys.append(block)
    assert caught_only_by_keys, "no index block damage found by the check"


def test_ctrl_c_inside_duckdb_while_checking_is_an_interrupt(monkeypatch, job) -> None:
    """DuckDB turns a Ctrl-C during a statement into RuntimeError('Query interrupted'): during
    the publish check (and the CHECKPOINT before it) that is an interrupt, never a traceback or
    a sound file judged damaged."""
    import core.store.validate as validate

    photos, db = job
    real = validate._read_every_block
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0]
    calls = {"n": 0}

    def read(con, table):
        calls["n"] += 1
        if calls["n"] > tables:  # the DB's own check passes; the first snapshot's is cut short
            raise RuntimeError("Query interrupted")
        return real(con, table)

    with monkeypatch.context() as patch:
        patch.setattr(validate, "_read_every_block", read)
        with pytest.raises(KeyboardInterrupt):
            run_precompute(photos, db, **JOB)
    assert calls["n"] > tables
    with pytest.raises(KeyboardInterrupt):
        store_writer.raise_if_interrupted(RuntimeError("Query interrupted"))
    assert_published_complete(db)
    assert_rerun_exact(photos, db)
