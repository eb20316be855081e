"""Precompute: start, resume or rerun the precompute job as its own process, and watch it live.

The form is filled in from the open run's stored settings (``runs.source``, model, explainer,
mode, method, lang and ``runs.settings``): one button resumes it; changing a setting starts a
new run (the job decides by the settings' identity, :meth:`core.jobs.JobSettings.identity`).
"""

from __future__ import annotations

import json
import signal
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from core.attribution import METHOD_NAMES as CAM_METHOD_NAMES
from core.jobs.progress import EXIT_SOME_FAILED, read_progress
from core.languages import LANGUAGES
from dashboard import context, data, fmt, labels, state, target, urlstate, widgets
from dashboard.i18n import LANG_NAMES, t
from dashboard.job import (
    engine_options,
    log_tail,
    running_job,
    start_job,
    start_verify,
    started_job,
    started_kind,
)
from dashboard.text import escape_markdown

# form field -> (precompute flag, where the run stores it)
FIELDS = {
    "pc_model": "--model",
    "pc_explainer": "--explainer",
    "pc_mode": "--mode",
    "pc_method": "--method",
    "pc_lang": "--lang",
    "pc_layer": "--layer",
    "pc_top_k": "--top-k",
    "pc_base_url": "--base-url",
    "pc_prompt_template": "--prompt-template",
    "pc_image_mode": "--images",
    "pc_max_side": "--max-side",
    "pc_weights": "--weights",
    "pc_labels": "--labels",
    "pc_task": "--task",
    "pc_structured": "--structured",
}
DEFAULTS = {
    "pc_folder": "",
    "pc_model": "imagenet",
    "pc_explainer": "grounded",
    "pc_mode": "blind",
    "pc_method": "gradcam",
    "pc_lang": "ja",
    "pc_layer": "",
    "pc_top_k": 3,
    "pc_base_url": "",
    "pc_prompt_template": "",
    "pc_image_mode": "",
    "pc_max_side": 0,
    "pc_weights": "",
    "pc_labels": "",
    "pc_task": "",
    "pc_structured": False,
}


# where the job runs: not part of a run's settings (changing it still resumes the run)
ENGINE_DEFAULTS = {"pc_engine": "local", "pc_ray_address": "", "pc_actors": 0}


db = state.db_path()
st.title(t("page.precompute"))
urlstate.publish("precompute", [])
st.caption(t("pc.caption"))
ctx = context.load_ctx(stop=False)


def run_values(info: dict) -> dict:
    """The form's values for a stored run (its folder, model, explainer ... options)."""
    stored = info.get("settings") if isinstance(info.get("settings"), dict) else {}
    explainer_options = stored.get("explainer_options") or {}
    model_options = stored.get("model_options") or {}
    values = {
        "pc_folder": info.get("source") or "",
        "pc_model": info.get("model") or stored.get("model") or "imagenet",
        "pc_explainer": info.get("explainer") or "grounded",
        "pc_mode": info.get("mode") or "blind",
        "pc_method": info.get("method") or "gradcam",
        "pc_lang": info.get("lang") or "ja",
        "pc_layer": stored.get("layer") or "",
        "pc_top_k": int(stored.get("top_k") or 3),
    }
    for key, name in (
        ("pc_base_url", "base_url"),
        ("pc_prompt_template", "prompt_template"),
        ("pc_image_mode", "image_mode"),
        ("pc_max_side", "max_side"),
    ):
        values[key] = explainer_options.get(name) or DEFAULTS[key]
    values["pc_structured"] = bool(explainer_options.get("structured"))
    for key, name in (("pc_weights", "weights"), ("pc_labels", "labels"), ("pc_task", "task")):
        values[key] = model_options.get(name) or ""
    return {**DEFAULTS, **values}


def prefill(ctx: context.Ctx | None) -> dict | None:
    """Fill the form from the open run when it is opened or another run is picked.

    Returns the run's values (``None`` without a run) to tell resume from a new run.
    """
    if ctx is None or ctx.info.get("kind") == "texts":
        for key, value in DEFAULTS.items():
            st.session_state.setdefault(key, value)
        return None
    values = run_values(ctx.info)
    if st.session_state.get("pc_prefilled") != (ctx.db, ctx.run_id):
        st.session_state.update(values)
        st.session_state["pc_prefilled"] = (ctx.db, ctx.run_id)
    return values


IMAGE_MODES = ("pair", "panel", "marks")  # --image-mode's choices (core.cli.common)


def _named_map(field: str, values) -> dict[str, str]:
    """``value -> its name in the screen's language`` (read now: AppTest calls a format_func
    outside the script run, where the screen's language is unknown)."""
    return {v: labels.value(field, v) for v in values}


def _named(field: str, values):
    return _named_map(field, values).get


def form() -> dict:
    """The job's settings as widgets; returns their values by key."""
    st.text_input(t("pc.folder"), key="pc_folder", placeholder=t("pc.folder_placeholder"))
    c1, c2, c3 = st.columns(3)
    c1.text_input(t("pc.model"), key="pc_model", help=t("pc.model_help"))
    c2.text_input(t("pc.explainer"), key="pc_explainer", help=t("pc.explainer_help"))
    c3.selectbox(
        t("pc.mode"),
        ["blind", "informed"],
        key="pc_mode",
        help=t("pc.mode_help"),
        format_func=_named("mode", ["blind", "informed"]),
    )
    c4, c5, c6 = st.columns(3)
    c4.selectbox(
        t("pc.method"),
        CAM_METHOD_NAMES,
        key="pc_method",
        format_func=_named("method", CAM_METHOD_NAMES),
    )
    c5.selectbox(
        t("pc.lang"), list(LANGUAGES), key="pc_lang", format_func=lambda v: LANG_NAMES.get(v, v)
    )
    c6.number_input(t("pc.limit"), 0, 10_000_000, step=100, key="pc_limit")
    engine_fields()
    with st.expander(t("pc.options"), icon=":material/tune:"):
        o1, o2, o3 = st.columns(3)
        o1.text_input(t("pc.layer"), key="pc_layer", help=t("pc.layer_help"))
        o2.number_input(t("pc.top_k"), 1, 20, step=1, key="pc_top_k")
        o3.text_input(t("pc.task"), key="pc_task")
        o1.text_input(t("pc.weights"), key="pc_weights")
        o2.text_input(t("pc.labels"), key="pc_labels")
        o3.text_input(t("pc.base_url"), key="pc_base_url")
        o1.text_input(t("pc.prompt_template"), key="pc_prompt_template")
        o2.selectbox(
            t("pc.image_mode"),
            ["", *IMAGE_MODES],
            key="pc_image_mode",
            format_func={**_named_map("image_mode", IMAGE_MODES), "": t("pc.default")}.get,
        )
        o3.number_input(
            t("pc.max_side"), 0, 4096, step=64, key="pc_max_side", help=t("pc.max_side_help")
        )
        o1.checkbox(t("pc.structured"), key="pc_structured", help=t("pc.structured_help"))
    st.session_state.setdefault("pc_limit", 0)
    return {key: st.session_state.get(key) for key in [*DEFAULTS, "pc_limit", *ENGINE_DEFAULTS]}


def engine_fields() -> None:
    """Local or Ray; for Ray, the cluster's address and the number of actors."""
    for key, value in ENGINE_DEFAULTS.items():
        st.session_state.setdefault(key, value)
    e1, e2, e3 = st.columns(3)
    e1.radio(
        t("pc.engine"),
        ["local", "ray"],
        horizontal=True,
        key="pc_engine",
        format_func={"local": t("pc.engine_local"), "ray": t("pc.engine_ray")}.get,
        help=t("pc.engine_help"),
    )
    ray = st.session_state["pc_engine"] == "ray"
    e2.text_input(
        t("pc.ray_address"), key="pc_ray_address", disabled=not ray, help=t("pc.ray_address_help")
    )
    e3.number_input(
        t("pc.actors"), 0, 4096, step=1, key="pc_actors", disabled=not ray, help=t("pc.actors_help")
    )


def same_run(values: dict, stored: dict | None) -> bool:
    """Whether the form still names the stored run (then the job resumes it)."""
    if stored is None:
        return False
    folder = str(Path(str(values["pc_folder"]).strip() or ".").expanduser().resolve())
    return folder == str(stored["pc_folder"]) and all(
        str(values[k]).strip() == str(stored[k]).strip() for k in FIELDS
    )


def start(values: dict, out_db: Path) -> None:
    """Check the folder and start the job on ``out_db`` (resumes the run its settings identify)."""
    folder = str(values["pc_folder"]).strip()
    if not folder or not Path(folder).expanduser().is_dir():
        st.error(t("pc.no_folder"))
        return
    options = {flag: values[key] or None for key, flag in FIELDS.items()}
    options["--limit"] = int(values["pc_limit"] or 0) or None
    options |= engine_options(
        str(values["pc_engine"]), str(values["pc_ray_address"] or ""), int(values["pc_actors"] or 0)
    )
    job = start_job(out_db, str(Path(folder).expanduser()), options)
    target.remember(out_db)  # issue 23: the progress shown is the output DB's
    st.toast(t("pc.started", pid=job.pid))


def runs_table(ctx: context.Ctx | None) -> None:
    """Every run of the DB with its settings and status."""
    if ctx is None:
        return
    frame = data.q_runs(ctx.db, ctx.mtime)
    if frame.empty:
        return
    rows = []
    for run in frame.itertuples():
        stored = data.q_run_info(ctx.db, ctx.mtime, int(run.run_id)).get("settings")
        rows.append(
            {
                t("app.run"): int(run.run_id),
                t("pc.status"): labels.status(run.status),
                t("pc.done_failed"): f"{int(run.n_done):,} / {int(run.n_failed):,}",
                t("setting.source"): run.source,
                t("setting.model"): run.model,
                t("setting.explainer"): run.explainer,
                t("setting.mode"): run.mode,
                t("setting.method"): run.method,
                t("setting.lang"): run.lang,
                t("pc.settings"): json.dumps(stored, ensure_ascii=False, sort_keys=True)
                if isinstance(stored, dict)
                else "",
                t("pc.updated"): fmt.when(run.updated_at),
            }
        )
    st.subheader(t("pc.runs"))
    table = pd.DataFrame(rows)
    st.dataframe(table, hide_index=True, width="stretch")
    widgets.csv_button(table, "runs.csv", "pc_runs_csv")


def verify_section(ctx: context.Ctx | None) -> None:
    """Start ``wordcam verify`` on the open photo run (which words change the model's answer)
    through the page's one job runner; its progress shows in the job panel below."""
    if ctx is None or ctx.info.get("kind") == "texts":
        return
    st.subheader(t("verify.section"))
    st.caption(t("verify.effect_help"))
    running = running_job(db)
    if running is not None and started_kind(db) == "verify":
        st.info(t("verify.running"))
    elif st.button(
        t("verify.start"), help=t("verify.start_help"), key="verify_start", disabled=bool(running)
    ):
        options = {"--run": ctx.run_id}
        options |= engine_options(
            str(st.session_state.get("pc_engine") or "local"),
            str(st.session_state.get("pc_ray_address") or ""),
            int(st.session_state.get("pc_actors") or 0),
        )
        start_verify(db, options)
        st.rerun()
    finished = started_job(db)
    if started_kind(db) == "verify" and finished is not None and finished.poll() is not None:
        st.caption(t("verify.finished", rc=finished.returncode))


stored = prefill(ctx)
job = running_job(db)
with st.container(border=True):
    if stored is not None:
        st.caption(escape_markdown(t("pc.prefilled", run=ctx.run_id)))
    values = form()
    resume = same_run(values, stored)
    # issue 23: the output database, and a tick before writing into the open one
    out_db = target.out_db_field(db)
    ok = target.confirmed(out_db, db)
    st.caption(escape_markdown(t("pc.writes", db=out_db)))
    label = t("pc.resume") if resume else t("pc.start_new") if stored else t("pc.start")
    if st.button(
        label,
        icon=":material/play_arrow:",
        disabled=job is not None or not ok,
        type="primary",
        key="pc_start",
    ):
        start(values, out_db)
        job = running_job(out_db)
    if stored is not None and not resume:
        st.caption(t("pc.new_run_note"))
runs_table(ctx)
verify_section(ctx)


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
    st.subheader(escape_markdown(t("pc.job", status=labels.status(status))))
    share = min(1.0, (done + failed) / total) if total else 0.0
    st.progress(
        share, text=t("pc.progress", done=f"{done:,}", failed=f"{failed:,}", total=f"{total:,}")
    )
    eta = record.get("eta_s")
    cols = st.columns(3)
    cols[0].metric(t("pc.eta"), "—" if eta in (None, "") else f"{float(eta):,.0f} s")
    cols[1].metric(
        t("pc.started_at"), _clock(record.get("started_at")), help=str(record.get("started_at"))
    )
    cols[2].metric(
        t("pc.updated_at"), _clock(record.get("updated_at")), help=str(record.get("updated_at"))
    )
    if record.get("message"):
        st.text(labels.job_message(record["message"]))


def _show_outcome(db: Path, status: str, returncode: int | None) -> None:
    """The end of the log when the job failed; else the way to the new results, and the log."""
    if returncode == EXIT_SOME_FAILED:  # finished; some photos failed (a rerun retries them)
        st.warning(t("pc.finished_some_failed"))
        st.code(log_tail(db) or t("pc.empty_log"), language=None)
        return
    failed_job = returncode not in (None, 0) or status == "failed"
    if failed_job:
        st.error(
            t("pc.failed_code", code=returncode) if returncode not in (None, 0) else t("pc.failed")
        )
        st.code(log_tail(db) or t("pc.empty_log"), language=None)
    elif status == "done":
        st.success(t("pc.finished"))
        if st.button(t("pc.show_results"), icon=":material/refresh:"):
            st.rerun(scope="app")
    if not failed_job and log_tail(db):
        with st.expander(t("pc.log")):
            st.code(log_tail(db), language=None)


@st.fragment(run_every=1.0)
def progress_panel() -> None:
    """Live progress of the job (re-drawn every second without rerunning the page)."""
    watched = target.watched(db)  # issue 23: the output DB of the last job started here
    record = read_progress(watched)
    job = started_job(watched)
    returncode = job.poll() if job is not None else None
    if record is None and job is None:
        st.info(t("pc.no_progress"))
        return
    record = record or {}
    running = job is not None and returncode is None
    status = _status(record, running)
    _show_progress(record, status)
    if running and st.button(t("pc.stop"), icon=":material/stop:"):
        job.send_signal(signal.SIGINT)
        st.toast(t("pc.stopping"))
    _show_outcome(watched, status, returncode)


progress_panel()
