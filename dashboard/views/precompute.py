"""Precompute: start or resume the precompute job as its own process, and watch it live."""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path

import streamlit as st

from core.attribution import METHOD_NAMES as CAM_METHOD_NAMES
from core.jobs.progress import read_progress
from dashboard import state
from dashboard.job import log_tail, running_job, start_job, started_job
from dashboard.text import escape_markdown

db = state.db_path()
st.title("Precompute")
st.caption(
    "Runs `wordcam precompute` in a separate process; you can keep browsing the "
    "previous results meanwhile (pages read the last published snapshot)."
)

job = running_job(db)
with st.form("precompute_form", border=True):
    folder = st.text_input(
        "Photo folder", key="pc_folder", placeholder="/path/to/photos (one sub-folder per ward)"
    )
    c1, c2, c3 = st.columns(3)
    model = c1.text_input(
        "Model",
        "imagenet",
        key="pc_model",
        help="imagenet, torchvision:ARCH, or a model directory from `wordcam train`",
    )
    explainer = c2.text_input(
        "Explainer", "grounded", key="pc_explainer", help="grounded (offline) or openai:MODEL"
    )
    mode = c3.selectbox(
        "Mode",
        ["blind", "informed"],
        key="pc_mode",
        help="blind withholds the predicted label from the explainer",
    )
    c4, c5, c6 = st.columns(3)
    method = c4.selectbox("CAM method", CAM_METHOD_NAMES, key="pc_method")
    lang = c5.selectbox("Language", ["ja", "en"], key="pc_lang")
    limit = c6.number_input("Limit (0 = all photos)", 0, 10_000_000, 0, step=100, key="pc_limit")
    st.caption(
        escape_markdown(f"Writes {db}; rerunning the same settings resumes where the job stopped.")
    )
    submitted = st.form_submit_button(
        "Start / resume", icon=":material/play_arrow:", disabled=job is not None, type="primary"
    )

if submitted:
    if not folder.strip() or not Path(folder.strip()).expanduser().is_dir():
        st.error("Give an existing photo folder.")
    else:
        job = start_job(
            db,
            str(Path(folder.strip()).expanduser()),
            {
                "--model": model.strip(),
                "--explainer": explainer.strip(),
                "--mode": mode,
                "--method": method,
                "--lang": lang,
                "--limit": int(limit) or None,
            },
        )
        st.toast(f"Started precompute job (pid {job.pid})")


def _clock(iso: object) -> str:
    """``HH:MM:SS`` local time of an ISO timestamp from the progress file ("—" if absent)."""
    if not iso:
        return "—"
    try:
        return datetime.fromisoformat(str(iso)).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return str(iso)


def _status(record: dict, running: bool) -> str:
    """The status the progress file gives, corrected by what the job's process is doing."""
    status = record.get("status", "starting")
    if running and not record:
        return "starting"
    if running and status != "running":
        return f"{status}, finishing"
    return status


def _show_progress(record: dict, status: str) -> None:
    """The status, the progress bar, the ETA and times, and the job's last message."""
    done, failed, total = (int(record.get(k) or 0) for k in ("done", "failed", "total"))
    st.subheader(escape_markdown(f"Job: {status}"))
    share = min(1.0, (done + failed) / total) if total else 0.0
    st.progress(share, text=f"{done:,} done · {failed:,} failed · {total:,} photos")
    eta = record.get("eta_s")
    cols = st.columns(3)
    cols[0].metric("ETA", "—" if eta in (None, "") else f"{float(eta):,.0f} s")
    cols[1].metric("Started", _clock(record.get("started_at")), help=str(record.get("started_at")))
    cols[2].metric("Updated", _clock(record.get("updated_at")), help=str(record.get("updated_at")))
    if record.get("message"):
        st.text(str(record["message"]))


def _show_outcome(db: Path, status: str, returncode: int | None) -> None:
    """The end of the log when the job failed; else the way to the new results, and the log."""
    failed_job = returncode not in (None, 0) or status == "failed"
    if failed_job:
        st.error(
            f"The job failed (exit code {returncode}). The end of its log:"
            if returncode not in (None, 0)
            else "The job failed. The end of its log:"
        )
        st.code(log_tail(db) or "(empty log)", language=None)
    elif status == "done":
        st.success("Finished; the results are published.")
        if st.button("Show the new results", icon=":material/refresh:"):
            st.rerun(scope="app")
    if not failed_job and log_tail(db):
        with st.expander("Log"):
            st.code(log_tail(db), language=None)


@st.fragment(run_every=1.0)
def progress_panel() -> None:
    """Live progress of the job (re-drawn every second without rerunning the page)."""
    record = read_progress(db)
    job = started_job(db)
    returncode = job.poll() if job is not None else None
    if record is None and job is None:
        st.info("No precompute job has written progress for this database yet.")
        return
    record = record or {}
    running = job is not None and returncode is None
    status = _status(record, running)
    _show_progress(record, status)
    if running and st.button("Stop (finished photos are kept)", icon=":material/stop:"):
        job.send_signal(signal.SIGINT)
        st.toast("Asked the job to stop")
    _show_outcome(db, status, returncode)


progress_panel()
