"""The precompute job as a child process of the dashboard server: start it, find it, its log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import streamlit as st


def log_path(db: Path) -> Path:
    """The job's stdout/stderr log, beside the DB."""
    return db.with_name(db.name + ".precompute.log")


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[str, subprocess.Popen]:
    """Jobs started from this server, by DB path (kept across reruns and sessions)."""
    return {}


def started_job(db: Path) -> subprocess.Popen | None:
    """The last job this server started on ``db`` (running or finished), if any."""
    return _jobs().get(str(db))


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
    command = [sys.executable, "-m", "core", "precompute", f"--db={_absolute(db)}"]
    command.append("--no-progress")
    for flag, value in options.items():
        if value is True:  # a switch such as --structured
            command.append(flag)
        elif value is not None and value is not False and value != "":
            command.append(f"{flag}={value}")
    return [*command, "--", str(_absolute(folder))]


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
    """Start :func:`job_command` detached from the Streamlit script run."""
    db.parent.mkdir(parents=True, exist_ok=True)
    job = spawn(job_command(db, folder, options), log_path(db))
    _jobs()[str(db)] = job
    return job


def spawn(command: list[str], log: Path) -> subprocess.Popen:
    """Start ``command`` in its own session (it outlives the script run), output to ``log``."""
    out = open(log, "wb")  # noqa: SIM115 - handed to the child, closed below
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
    """The last ``lines`` lines of the job's log ("" when there is none)."""
    return tail_of(log_path(db), lines)


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
