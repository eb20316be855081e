"""The ``openai:MODEL`` explainer against a local fake OpenAI-compatible server (no network)."""

from __future__ import annotations

import base64
import io
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import ExplainerError
from core.explainers import ExplainRequest, load_explainer
from core.explainers.openai_vlm import OpenAIExplainer, OpenAISettings, png_data_url, read_dotenv
from core.explainers.prompts import (
    PromptBuilder,
    StructuredAnswerError,
    parse_structured,
    task_phrase_ja,
)
from core.explainers.vlm_cache import cache_path, estimate_cost, public_base_url

sys.path.insert(0, str(Path(__file__).parent))
from vlm_server import FakeVLMServer, Fault, Reply  # noqa: E402

TASK = "画像から撮影場所を特定する"
LABEL = "海岸沿いの道路"
FAST = {"retry_base_delay": 0.01, "retry_max_delay": 0.05}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No real key, no real endpoint, no repo .env; the cache lives in tmp_path."""
    monkeypatch.setenv("WORDCAM_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture
def server():
    with FakeVLMServer() as srv:
        yield srv


def make_request(seed: int = 0, label: str | None = LABEL) -> ExplainRequest:
    rng = np.random.default_rng(seed)
    pixels = (rng.random((48, 64, 3)) * 255).astype(np.uint8)
    yy, xx = np.mgrid[0:48, 0:64]
    cam = np.exp(-((xx - 20) ** 2 + (yy - 16) ** 2) / 60.0).astype(np.float32)
    return ExplainRequest(
        image=Image.fromarray(pixels),
        cam=cam,
        predictions=[(LABEL, 0.81), ("港", 0.12)],
        label=label,
        task=TASK,
        key=f"img{seed}",
    )


def explainer(server: FakeVLMServer, **options) -> OpenAIExplainer:
    return OpenAIExplainer("test-model", base_url=server.base_url, **{**FAST, **options})


def decode_png(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def cache_rows(sql: str = "SELECT status, error, prompt, response FROM vlm_calls ORDER BY call_id"):
    import duckdb

    con = duckdb.connect(str(cache_path()), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- requests and prompts


def test_pair_request_carries_prompt_task_label_and_two_images(server):
    (result,) = explainer(server, max_side=40).explain_batch([make_request()])
    assert result.error is None and result.text == Reply().text and not result.cached
    (sent,) = server.chat_requests
    assert sent.body["model"] == "test-model"
    assert sent.headers["authorization"] == "Bearer not-needed"  # localhost needs no key
    assert len(sent.image_urls) == 2
    for url in sent.image_urls:
        assert max(decode_png(url).size) == 40  # resized to max_side
    prompt = sent.prompt
    assert f"わたしは{TASK}機械学習モデルを開発しました。" in prompt
    assert f"なぜこの画像が「{LABEL}」と判別されたか" in prompt
    assert "GradCAM" in prompt
    assert result.details["usage"]["total_tokens"] == 1050
    assert result.details["prompt"] == prompt


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_blind_prompt_withholds_the_label(server, lang):
    (result,) = explainer(server, lang=lang).explain_batch([make_request(label=None)])
    assert result.error is None
    prompt = server.chat_requests[0].prompt
    assert LABEL not in prompt and "港" not in prompt
    assert TASK in prompt
    assert ("判別の根拠" in prompt) if lang == "ja" else ("relied on" in prompt)


def test_english_informed_prompt(server):
    explainer(server, lang="en").explain_batch([make_request()])
    prompt = server.chat_requests[0].prompt
    assert f'classified as "{LABEL}"' in prompt and TASK in prompt and "Grad-CAM" in prompt


def test_an_english_explainer_answers_in_english_whatever_the_request(server):
    # A request carries no language (its task and labels here are Japanese): the prompt, the
    # region names and the rendered structured answer follow the explainer's lang.
    objects = [{"object": "guardrail", "feature": "white metal fence", "region": 1}]
    server.script(Reply(text=json.dumps(objects)))
    ex = explainer(server, lang="en", image_mode="marks", structured=True)
    (result,) = ex.explain_batch([make_request(label=None)])
    prompt = server.chat_requests[0].prompt
    assert "relied on" in prompt and "判別の根拠" not in prompt
    assert result.details["regions"] and all(
        r["position"].isascii() for r in result.details["regions"]
    )
    assert result.error is None and result.text == "guardrail (1): white metal fence"


def test_panel_and_marks_image_modes(server):
    explainer(server, image_mode="panel").explain_batch([make_request()])
    assert len(server.chat_requests[-1].image_urls) == 1
    panel = decode_png(server.chat_requests[-1].image_urls[0])
    assert panel.width > panel.height  # input | overlay side by side
    (result,) = explainer(server, image_mode="marks").explain_batch([make_request()])
    sent = server.chat_requests[-1]
    assert len(sent.image_urls) == 2
    assert "番号付きの領域" in sent.prompt and "1. " in sent.prompt
    assert result.details["regions"] and result.details["regions"][0]["index"] == 1


def test_task_phrase_ja():
    assert task_phrase_ja("画像から撮影場所を特定する") == "画像から撮影場所を特定する"
    assert task_phrase_ja("撮影場所を特定する") == "画像から撮影場所を特定する"
    assert task_phrase_ja("画像の分類") == "画像の分類を行う"


def test_user_template_replaces_builtin(server, tmp_path):
    template = tmp_path / "mine.j2"
    template.write_text(
        "TASK={{ task }} MODE={{ mode }} LANG={{ lang }} IMAGES={{ image_mode }}"
        "{% if label %} LABEL={{ label }} TOP={{ predictions[0][0] }}{% endif %}",
        encoding="utf-8",
    )
    ex = explainer(server, prompt_template=str(template))
    ex.explain_batch([make_request(), make_request(seed=1, label=None)])
    prompts = sorted(r.prompt for r in server.chat_requests)
    assert f"TASK={TASK} MODE=blind LANG=ja IMAGES=pair" in prompts
    assert f"TASK={TASK} MODE=informed LANG=ja IMAGES=pair LABEL={LABEL} TOP={LABEL}" in prompts


def test_bad_user_template_is_a_one_line_error(tmp_path, server):
    bad = tmp_path / "bad.j2"
    bad.write_text("{{ labell }}", encoding="utf-8")
    with pytest.raises(ExplainerError, match="labell") as info:
        explainer(server, prompt_template=str(bad))
    assert "\n" not in str(info.value)
    with pytest.raises(ExplainerError, match="not found"):
        PromptBuilder(tmp_path / "missing.j2")


# ---------------------------------------------------------------- cache


def test_same_request_twice_is_a_cache_hit_without_http(server):
    ex = explainer(server)
    first = ex.explain_batch([make_request(0), make_request(1)])
    assert len(server.chat_requests) == 2 and not any(r.cached for r in first)
    before = len(server.requests)
    again = OpenAIExplainer("test-model", base_url=server.base_url, preflight=False).explain_batch(
        [make_request(1), make_request(0)]
    )
    assert len(server.requests) == before  # no chat call, and no lazy preflight either
    assert all(r.cached for r in again)
    assert [r.text for r in again] == [first[1].text, first[0].text]
    assert again[0].details["usage"]["total_tokens"] == 1050
    rows = cache_rows("SELECT count(*), count(DISTINCT cache_key) FROM vlm_calls")
    assert rows == [(2, 2)]


def test_identical_requests_in_one_batch_make_one_call(server):
    results = explainer(server).explain_batch([make_request(0), make_request(0)])
    assert len(server.chat_requests) == 1
    assert results[0].text == results[1].text and [r.cached for r in results] == [False, True]


def test_cache_key_depends_on_label_model_and_params(server):
    explainer(server).explain_batch([make_request()])
    explainer(server).explain_batch([make_request(label=None)])
    explainer(server, max_side=32).explain_batch([make_request()])
    assert len(server.chat_requests) == 3


def test_no_cache_reads_and_writes_nothing(server):
    explainer(server, no_cache=True).explain_batch([make_request()])
    explainer(server, no_cache=True).explain_batch([make_request()])
    assert len(server.chat_requests) == 2
    assert not cache_path().exists()


@pytest.fixture
def cache_held_elsewhere():
    """Another process holding the cache DB open for writing (DuckDB's file lock)."""
    cache_path().parent.mkdir(parents=True, exist_ok=True)
    code = f"import duckdb, sys; con = duckdb.connect({str(cache_path())!r}); "
    code += "print('ready', flush=True); sys.stdin.read()"
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def test_cache_held_by_another_process_falls_back_with_warning(
    server, caplog, cache_held_elsewhere
):
    with caplog.at_level(logging.WARNING, logger="core.explainers.openai_vlm"):
        (result,) = explainer(server).explain_batch([make_request()])
    assert result.error is None and result.text
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "without caching" in warnings[0]
    assert "\n" not in warnings[0]


def test_wordcam_cost_while_a_job_holds_the_cache(cache_held_elsewhere, capsys):
    from core.cli import main

    assert main(["cost"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "try again" in err


# ---------------------------------------------------------------- faults and retries


def test_429_with_retry_after_then_success(server):
    server.script(Fault.http(429, retry_after=1))
    started = time.monotonic()
    (result,) = explainer(server).explain_batch([make_request()])
    assert result.error is None and result.details["attempts"] == 2
    assert time.monotonic() - started >= 0.9  # Retry-After honoured
    assert len(server.chat_requests) == 2


def test_500_then_success(server):
    server.script(Fault.http(500), Fault.http(503))
    (result,) = explainer(server).explain_batch([make_request()])
    assert result.error is None and result.details["attempts"] == 3


def test_timeout_then_success(server):
    server.script(Fault.hang(1.5))
    (result,) = explainer(server, timeout=0.4).explain_batch([make_request()])
    assert result.error is None and result.details["attempts"] == 2


def test_retries_give_up_with_an_error(server):
    server.script(*[Fault.http(502)] * 3)
    (result,) = explainer(server, max_retries=2).explain_batch([make_request()])
    assert result.text == "" and "HTTP 502" in result.error and "3 attempts" in result.error
    assert len(server.chat_requests) == 3


def test_client_errors_are_not_retried(server):
    server.script(Fault.http(400))
    (result,) = explainer(server).explain_batch([make_request()])
    assert "HTTP 400" in result.error and len(server.chat_requests) == 1


def test_malformed_json_is_an_error_and_the_batch_continues(server):
    server.script(Fault.malformed())
    results = explainer(server, concurrency=1).explain_batch([make_request(0), make_request(1)])
    assert "malformed" in results[0].error and results[0].text == ""
    assert results[1].error is None and results[1].text
    assert [row[0] for row in cache_rows()] == ["error", "ok"]


@pytest.mark.parametrize(
    ("reply", "status", "message"),
    [
        (Reply(text=None, refusal="I can't help with that."), "refused", "refused"),
        (Reply(text="", finish_reason="content_filter"), "refused", "content filter"),
        (Reply(text="   ", finish_reason="length"), "empty", "empty answer"),
    ],
)
def test_refusals_and_empty_answers_are_recorded_not_retried(server, reply, status, message):
    server.script(reply)
    (result,) = explainer(server).explain_batch([make_request()])
    assert result.text == "" and message in result.error
    assert len(server.chat_requests) == 1
    assert cache_rows("SELECT status FROM vlm_calls") == [(status,)]
    # not served from the cache: asking again calls the server again
    explainer(server).explain_batch([make_request()])
    assert len(server.chat_requests) == 2


def test_one_broken_request_does_not_stop_the_batch(server):
    broken = make_request(1)
    broken.cam = np.zeros((2, 3, 4), dtype=np.float32)
    results = explainer(server).explain_batch([make_request(0), broken, make_request(2)])
    assert results[0].text and results[2].text
    assert results[1].error and "cam" in results[1].error


# ---------------------------------------------------------------- structured mode


def test_structured_answer_is_parsed_and_rendered(server):
    objects = [
        {"object": "ガードレール", "feature": "白い金属製の柵", "region": "下部中央"},
        {"object": "海", "feature": "青い水平線", "region": 2},
    ]
    server.script(Reply(text="```json\n" + json.dumps(objects, ensure_ascii=False) + "\n```"))
    (result,) = explainer(server, structured=True).explain_batch([make_request()])
    assert result.error is None
    assert result.details["objects"][0] == objects[0]
    assert result.details["objects"][1]["region"] == "2"
    assert result.text.splitlines() == [
        "ガードレール（下部中央）: 白い金属製の柵",
        "海（2）: 青い水平線",
    ]
    assert "JSON" in server.chat_requests[0].prompt and LABEL in server.chat_requests[0].prompt


def test_structured_invalid_answer_is_flagged(server):
    server.script(Reply(text="ガードレールが見えます。"))
    (result,) = explainer(server, structured=True).explain_batch([make_request()])
    assert result.text == "" and result.error.startswith("invalid structured answer")
    assert result.details["raw_text"] == "ガードレールが見えます。"


def test_parse_structured_variants():
    assert parse_structured('Here: [{"object": "car", "feature": "red"}] done')[0]["region"] == ""
    assert parse_structured('{"objects": [{"object": "a", "feature": "b", "region": "c"}]}')
    for bad in (
        "[]",
        '[{"object": "a"}]',
        '["a"]',
        "[{oops",
        '{"x": 1}',
        '[{"object": 1.5, "feature": []}]',
    ):
        with pytest.raises(StructuredAnswerError):
            parse_structured(bad)


# ---------------------------------------------------------------- throughput


def test_requests_run_concurrently(server):
    server.default = Reply(delay=0.3)
    results = explainer(server, concurrency=4).explain_batch([make_request(i) for i in range(8)])
    assert all(r.error is None for r in results)
    assert server.max_in_flight >= 3
    starts = sorted(r.started for r in server.chat_requests)
    assert starts[-1] - starts[0] < 1.2  # one at a time, the 8th would start >= 2.1 s later


def test_rpm_spaces_requests(server):
    started = time.monotonic()
    explainer(server, concurrency=4, rpm=600).explain_batch([make_request(i) for i in range(4)])
    assert time.monotonic() - started >= 0.3 - 0.02  # 3 gaps of 0.1 s
    starts = sorted(r.started for r in server.chat_requests)
    assert starts[-1] - starts[0] >= 0.25
    assert all(b - a >= 0.05 for a, b in zip(starts, starts[1:], strict=False))


def test_batch_summary_is_logged(server, caplog):
    with caplog.at_level(logging.INFO, logger="core.explainers.openai_vlm"):
        explainer(server).explain_batch([make_request(0), make_request(1)])
    (line,) = [r.getMessage() for r in caplog.records if "cache hits" in r.getMessage()]
    assert "2 requests" in line and "0 cache hits" in line and "2100 tokens" in line


# ---------------------------------------------------------------- keys, endpoints, errors


def test_api_key_is_sent_but_never_written(server, tmp_path, monkeypatch):
    key = "sk-wordcam-test-" + "Zq9" * 8
    monkeypatch.setenv("OPENAI_API_KEY", key)
    server.script(Reply(text=f"echoing {key} back"), Fault.http(500))
    ex = OpenAIExplainer("gpt-4o-mini", base_url=server.base_url, concurrency=1, **FAST)
    assert key not in repr(ex)
    results = ex.explain_batch([make_request(0), make_request(1)])
    structured = OpenAIExplainer("gpt-4o-mini", base_url=server.base_url, structured=True, **FAST)
    server.script(Reply(text=f"no {key}"))
    (invalid,) = structured.explain_batch([make_request(2)])
    assert invalid.details["raw_text"] == "no ***"
    assert server.chat_requests[0].headers["authorization"] == f"Bearer {key}"
    assert key not in results[0].text and "***" in results[0].text
    assert key not in json.dumps([r.details for r in results], ensure_ascii=False)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.startswith("vlm_cache") for p in written)
    for path in written:
        assert key.encode() not in path.read_bytes(), path


def test_missing_key_for_openai_is_a_one_line_error():
    with pytest.raises(ExplainerError, match="OPENAI_API_KEY") as info:
        OpenAIExplainer("gpt-4o")
    assert "\n" not in str(info.value) and "api.openai.com" in str(info.value)


def test_key_and_base_url_from_dotenv(server):
    Path(".env").write_text(
        f"# local settings\nexport OPENAI_API_KEY='sk-from-dotenv'\nOPENAI_BASE_URL={server.base_url}\n",
        encoding="utf-8",
    )
    assert read_dotenv()["OPENAI_API_KEY"] == "sk-from-dotenv"
    ex = OpenAIExplainer("test-model", **FAST)
    ex.explain_batch([make_request()])
    assert server.chat_requests[0].headers["authorization"] == "Bearer sk-from-dotenv"


def test_unreachable_server_is_a_one_line_error_before_any_call():
    import socket

    from core.explainers import check_explainer

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    ex = OpenAIExplainer("llava", base_url=url, **FAST)  # making it asks nothing
    with pytest.raises(ExplainerError, match="cannot reach") as info:
        check_explainer(ex)  # what the commands do before the first photo
    assert "\n" not in str(info.value) and "--base-url" in str(info.value)
    lazy = OpenAIExplainer("llava", base_url=url, **FAST)
    with pytest.raises(ExplainerError, match="cannot reach"):  # or before the first call
        lazy.explain_batch([make_request()])
    unchecked = OpenAIExplainer("llava", base_url=url, preflight=False, max_retries=0)
    (result,) = unchecked.explain_batch([make_request()])  # no check: the call's own error
    assert "connection error" in result.error


def test_preflight_rejected_key_and_missing_models_route(server):
    server.models_status = 401
    with pytest.raises(ExplainerError, match="rejected the API key"):
        explainer(server).check()
    with pytest.raises(ExplainerError, match="rejected the API key"):
        explainer(server).explain_batch([make_request()])
    assert not server.chat_requests
    server.models_status = 404  # servers without /models are fine
    (result,) = explainer(server).explain_batch([make_request()])
    assert result.error is None


def test_making_an_explainer_asks_nothing_of_the_server(server):
    explainer(server)
    OpenAIExplainer("test-model", base_url=server.base_url, structured=True, image_mode="marks")
    load_explainer("openai:test-model", base_url=server.base_url, lang="en")
    settings = OpenAISettings.resolve("test-model", base_url=server.base_url, max_side=64)
    ex = OpenAIExplainer.from_settings(settings)
    assert server.requests == []
    assert ex.max_side == 64 and ex.settings is settings
    ex.check()
    ex.check()  # checked once
    assert [r.path for r in server.requests] == ["/v1/models"]
    ex.explain_batch([make_request()])
    assert [r.path for r in server.requests] == ["/v1/models", "/v1/chat/completions"]


def test_ask_is_the_seam_for_a_free_question(server):
    from core.explainers.vlm_cache import VLMCache

    url, _ = png_data_url(Image.new("RGB", (8, 8), "red"), 64)
    ex = explainer(server)
    with VLMCache() as cache:
        first = ex.ask("what is red?", [url], cache)
        again = ex.ask("what is red?", [url], cache)
    assert first.text == Reply().text and not first.cached
    assert again.text == first.text and again.cached
    (sent,) = server.chat_requests
    assert sent.prompt == "what is red?" and sent.image_urls == [url]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": " "}, "needs a model name: use --explainer openai:MODEL"),
        ({"lang": "fr"}, "unsupported language 'fr': use one of ja, en"),
        ({"image_mode": "collage"}, "unknown image mode 'collage': use one of pair, panel, marks"),
        ({"max_side": 16}, "max_side must be at least 32 pixels (got 16)"),
        ({"concurrency": 0}, "concurrency must be at least 1 (got 0)"),
        ({"max_retries": -1}, "max_retries must be at least 0 (got -1)"),
        ({"timeout": 0}, "timeout must be positive seconds (got 0)"),
        ({"rpm": -5}, "rpm must be positive (got -5)"),
        ({"max_tokens": "many"}, "max_tokens must be a number (got 'many')"),
        ({"base_url": "https://api.example.com/v1"}, "no API key for https://api.example.com/v1"),
    ],
)
def test_settings_validation_errors_say_what_to_do(options, message):
    values = {"model": "m", "base_url": "http://localhost:1/v1", **options}
    with pytest.raises(ExplainerError) as info:
        OpenAISettings(**values)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_option_is_a_one_line_error():
    with pytest.raises(ExplainerError, match="no option 'max_size': use lang, base_url") as info:
        load_explainer("openai:m", base_url="http://localhost:1/v1", max_size=64)
    assert "\n" not in str(info.value)


def test_settings_are_frozen_and_hide_the_key():
    import dataclasses

    settings = OpenAISettings("m", base_url="https://api.example.com/v1", api_key="sk-secret-1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.model = "other"  # type: ignore[misc]
    assert "sk-secret-1" not in repr(settings)
    assert OpenAISettings("m", base_url="http://127.0.0.1:8/v1").api_key == "not-needed"
    assert settings.params["max_side"] == 512 and settings.name == "openai:m"


def test_bad_options_and_missing_model_name():
    with pytest.raises(ExplainerError, match="openai:MODEL"):
        load_explainer("openai")
    with pytest.raises(ExplainerError, match="image mode"):
        OpenAIExplainer("m", base_url="http://localhost:1/v1", image_mode="collage")


def test_accepts_every_cli_option(server):
    from core.cli.common import _VLM_OPTIONS

    options = {
        "base_url": server.base_url, "prompt_template": None, "structured": True,
        "image_mode": "marks", "max_side": 256, "concurrency": 2, "rpm": 1000.0, "timeout": 10.0,
        "max_retries": 1, "no_cache": True, "lang": "en",
    }  # fmt: skip
    assert set(options) == {*_VLM_OPTIONS, "lang"}
    ex = load_explainer("openai:test-model", **options)
    assert ex.name == "openai:test-model" and ex.structured and ex.image_mode == "marks"


# ---------------------------------------------------------------- cost


def test_cost_estimates_and_wordcam_cost(server, capsys):
    assert estimate_cost("gpt-4o-mini-2024-07-18", 1_000_000, 0) == pytest.approx(0.15)
    assert estimate_cost("gpt-4o", 1000, 50) == pytest.approx((1000 * 2.5 + 50 * 10) / 1e6)
    assert estimate_cost("llava:13b", 1000, 50) is None
    assert public_base_url("https://u:p@example.com/v1/?api-key=x") == "https://example.com/v1"

    OpenAIExplainer("gpt-4o", base_url=server.base_url, **FAST).explain_batch([make_request()])
    server.script(Fault.http(400))
    explainer(server).explain_batch([make_request(1)])
    from core.cli import main

    assert main(["cost", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    by_model = {m["model"]: m for m in summary["models"]}
    assert by_model["gpt-4o"]["cost_usd"] == pytest.approx((1000 * 2.5 + 50 * 10) / 1e6)
    assert by_model["test-model"]["failed"] == 1 and by_model["test-model"]["cost_usd"] is None
    assert summary["total"]["calls"] == 2
    assert main(["cost", "--since", "1"]) == 0
    table = capsys.readouterr().out
    assert "gpt-4o" in table and "TOTAL" in table and "$0.0030" in table
