"""The dashboard's one job runner: a ``wordcam`` job (precompute or verify) as a child process.

One job per DB at a time (a DB has a single writer): :func:`start_job` (precompute) and
:func:`start_verify` start it detached from the Streamlit script run, :func:`started_job` /
:func:`running_job` find it, :func:`log_tail` reads its log. Both jobs write the same progress
file beside the DB (:func:`core.jobs.progress.read_progress`), which the Precompute page shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import streamlit as st

JOBS = ("precompute", "verify")


def log_path(db: Path, job: str = "precompute") -> Path:
    """The stdout/stderr log of the ``job`` (precompute or verify), beside the DB."""
    return db.with_name(f"{db.name}.{job}.log")


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[str, tuple[str, subprocess.Popen]]:
    """Jobs started from this server, by DB path: (which job, its process); kept across reruns
    and sessions."""
    return {}


def started_job(db: Path) -> subprocess.Popen | None:
    """The last job this server started on ``db`` (running or finished), if any."""
    found = _jobs().get(str(db))
    return found[1] if found else None


def started_kind(db: Path) -> str | None:
    """Which job this server last started on ``db`` (``precompute`` or ``verify``), if any."""
    found = _jobs().get(str(db))
    return found[0] if found else None


def running_job(db: Path) -> subprocess.Popen | None:
    """The job this server started on ``db`` if it is still running."""
    job = started_job(db)
    return job if job is not None and job.poll() is None else None


def job_command(db: Path, folder: str, options: dict[str, str | int | bool | None]) -> list[str]:
    """``python -m core precompute --db=DB --no-progress --FLAG=VALUE ... -- FOLDER``.

    The folder and the DB are absolute and every value is joined to its flag, and the folder
    comes after ``--``: a name such as ``--texts=notes.csv`` stays a folder name. ``None`` and
    ``""`` leave a flag out, ``True`` gives the bare switch and ``False`` leaves it out; 0 is a
    value.
    """
    return [*_command("precompute", db, options), "--", str(_absolute(folder))]


def verify_command(db: Path, options: dict[str, str | int | bool | None]) -> list[str]:
    """``python -m core verify --db=DB --no-progress --FLAG=VALUE ...`` (values as in
    :func:`job_command`)."""
    return _command("verify", db, options)


def _command(job: str, db: Path, options: dict[str, str | int | bool | None]) -> list[str]:
    command = [sys.executable, "-m", "core", job, f"--db={_absolute(db)}", "--no-progress"]
    for flag, value in options.items():
        if value is True:  # a switch such as --structured
            command.append(flag)
        elif value is not None and value is not False and value != "":
            command.append(f"{flag}={value}")
    return command


def engine_options(engine: str, address: str = "", actors: int = 0) -> dict[str, str | int | None]:
    """The engine flags of :func:`job_command`: none for ``local``, else ``--engine=ray`` with
    ``--ray-address`` and ``--actors`` when given (docs/ray.md). Not part of a run's identity.
    """
    if engine != "ray":
        return {}
    return {
        "--engine": "ray",
        "--ray-address": address.strip() or None,
        "--actors": int(actors) or None,
    }


def _absolute(path: str | Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def start_job(db: Path, folder: str, options: dict[str, str | int | None]) -> subprocess.Popen:
    """Start the precompute job (:func:`job_command`) detached from the Streamlit script run."""
    db.parent.mkdir(parents=True, exist_ok=True)
    return _start(db, "precompute", job_command(db, folder, options))


def start_verify(db: Path, options: dict[str, str | int | None]) -> subprocess.Popen:
    """Start ``wordcam verify`` (:func:`verify_command`) on ``db``, like :func:`start_job`."""
    return _start(db, "verify", verify_command(db, options))


def _start(db: Path, job: str, command: list[str]) -> subprocess.Popen:
    process = spawn(command, log_path(db, job))
    _jobs()[str(db)] = (job, process)
    return process


def spawn(command: list[str], log: Path) -> subprocess.Popen:
    """Start ``command`` in its own session (it outlives the script run), output to ``log``
    (made anew beside the DB, never through a link: see core.store.nofollow)."""
    from core.store.nofollow import open_no_follow

    out = open_no_follow(log, "wb", new=True)
    try:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        out.close()


def log_tail(db: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of the log of the job last started on ``db`` (precompute when
    none was started here; "" when there is no log)."""
    return tail_of(log_path(db, started_kind(db) or "precompute"), lines)


def tail_of(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a child's log file ("" when there is none)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16_000))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
