"""Prompts for vision-language explainers, and parsing of their structured answers.

The built-in Japanese prompt follows the original experiment: 「わたしは画像から〈タスク〉機械学習
モデルを開発しました。入力画像は…です。GradCAMを用いて…計算した画像は…です。なぜこの画像が
〈予測〉と判別されたかの理由を、その根拠となるオブジェクトの特徴について述べてください。」
Blind mode (``label is None``) withholds the label entirely. Every built-in prompt also says
that the overlay's colours show importance only and are not to be described as the photo's
(赤く強調 / "highlighted in red" says nothing about the photo; :mod:`core.text.overlay` drops
such phrases from the answers too).

Templates are Jinja files (``templates/{lang}.j2``, ``templates/{lang}_structured.j2``); a user
template replaces them and may use the placeholders in :data:`PLACEHOLDERS`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ExplainerError
from core.languages import DEFAULT_LANG, LANGUAGES

TEMPLATE_DIR = Path(__file__).with_name("templates")
LANGS = LANGUAGES  # the one list, core/languages.py
PLACEHOLDERS = ("task", "label", "mode", "lang", "predictions", "image_mode", "regions")
# Extra variable the built-in templates use; user templates may use it too.
_DERIVED = ("task_phrase",)

MAX_OBJECTS = 20
_MAX_FIELD_CHARS = 300
_VERB_ENDINGS = set("うくぐすつぬぶむる")


def task_phrase_ja(task: str) -> str:
    """Turn a model's task into the phrase before 「機械学習モデル」.

    "画像から撮影場所を特定する" -> "画像から撮影場所を特定する"; "撮影場所を特定する" ->
    "画像から撮影場所を特定する"; "画像の分類" -> "画像の分類を行う".
    """
    t = task.strip().rstrip("。．.").strip() or "画像の分類"
    if t[-1] in _VERB_ENDINGS:
        return t if "画像" in t else f"画像から{t}"
    return f"{t}を行う" if "画像" in t else f"画像から{t}を行う"


@dataclass(frozen=True)
class PromptRegion:
    """A numbered CAM region as shown to the explainer (marks mode)."""

    index: int
    position: str
    percent: int
    bbox: tuple[int, int, int, int]


class PromptBuilder:
    """Renders the prompt for one request from a built-in or user-supplied Jinja template."""

    def __init__(self, template_path: str | Path | None = None, structured: bool = False) -> None:
        from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
        from jinja2.sandbox import SandboxedEnvironment

        self.structured = structured
        self.template_path = Path(template_path) if template_path else None
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader(str(TEMPLATE_DIR)),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )
        self._user_template = None
        if self.template_path is not None:
            path = self.template_path
            if not path.is_file():
                raise ExplainerError(f"prompt template {path}: file not found")
            try:
                source = path.read_text(encoding="utf-8")
                self._user_template = self._env.from_string(source)
                # Render once with sample values so typos fail now, not mid-batch.
                for label in ("sample", None):
                    self._user_template.render(**_sample_context(label))
            except UnicodeDecodeError:
                raise ExplainerError(f"prompt template {path}: not UTF-8 text") from None
            except TemplateError as exc:
                line = getattr(exc, "lineno", None)
                where = f" line {line}" if line else ""
                raise ExplainerError(
                    f"prompt template {path}{where}: {exc} "
                    f"(placeholders: {', '.join(PLACEHOLDERS)})"
                ) from None

    def render(
        self,
        *,
        task: str,
        label: str | None,
        lang: str,
        predictions: Sequence[tuple[str, float]] = (),
        image_mode: str = "pair",
        regions: Sequence[PromptRegion] = (),
    ) -> str:
        """The prompt text. In blind mode (``label is None``) no label or prediction is exposed."""
        if lang not in LANGS:
            raise ExplainerError(f"unsupported language {lang!r}: use one of {', '.join(LANGS)}")
        context = {
            "task": task.strip() or ("画像の分類" if lang == "ja" else "image classification"),
            "label": label,
            "mode": "blind" if label is None else "informed",
            "lang": lang,
            "predictions": [] if label is None else [(str(n), float(p)) for n, p in predictions],
            "image_mode": image_mode,
            "regions": list(regions),
        }
        context["task_phrase"] = task_phrase_ja(context["task"])
        if self._user_template is not None:
            template = self._user_template
        else:
            name = f"{lang}_structured.j2" if self.structured else f"{lang}.j2"
            template = self._env.get_template(name)
        return template.render(**context).strip()


def _sample_context(label: str | None) -> dict[str, Any]:
    return {
        "task": "画像の分類",
        "task_phrase": "画像の分類を行う",
        "label": label,
        "mode": "blind" if label is None else "informed",
        "lang": "ja",
        "predictions": [] if label is None else [("sample", 0.9)],
        "image_mode": "pair",
        "regions": [PromptRegion(1, "上部中央", 60, (0, 0, 10, 10))],
    }


class StructuredAnswerError(ValueError):
    """A structured answer that is not a JSON list of {object, feature, region}."""


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def parse_structured(text: str) -> list[dict[str, str]]:
    """Parse a model's JSON answer into ``[{"object", "feature", "region"}, ...]``.

    Tolerates a ```json fence, prose around the array, and ``{"objects": [...]}``. Raises
    :class:`StructuredAnswerError` (one line) when the answer is not such a list.
    """
    candidate = text.strip()
    fenced = _FENCE.search(candidate)
    if fenced:
        candidate = fenced.group(1).strip()
    data: Any
    try:
        data = json.loads(candidate)
    except json.JSONDecodeError:
        start, end = candidate.find("["), candidate.rfind("]")
        if start < 0 or end <= start:
            raise StructuredAnswerError("no JSON array in the answer") from None
        try:
            data = json.loads(candidate[start : end + 1])
        except json.JSONDecodeError as exc:
            raise StructuredAnswerError(f"invalid JSON ({exc.msg} at char {exc.pos})") from None
    if isinstance(data, dict):
        for key in ("objects", "items", "evidence"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            data = [data] if "object" in data else data
    if not isinstance(data, list):
        raise StructuredAnswerError(f"expected a JSON list, got {type(data).__name__}")
    if not data:
        raise StructuredAnswerError("the JSON list is empty")
    objects: list[dict[str, str]] = []
    for i, item in enumerate(data[:MAX_OBJECTS], start=1):
        if not isinstance(item, dict):
            raise StructuredAnswerError(f"item {i} is not an object")
        fields = {}
        for name in ("object", "feature", "region"):
            value = item.get(name, "")
            if value is None:
                value = ""
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise StructuredAnswerError(f"item {i}: {name!r} is not a string")
            fields[name] = " ".join(value.split())[:_MAX_FIELD_CHARS]
        if not fields["object"]:
            raise StructuredAnswerError(f"item {i} has no 'object'")
        if not fields["feature"]:
            raise StructuredAnswerError(f"item {i} has no 'feature'")
        objects.append(fields)
    return objects


def render_objects(objects: Sequence[dict[str, str]], lang: str = DEFAULT_LANG) -> str:
    """A readable rendering of parsed objects, one per line."""
    lines = []
    for item in objects:
        region = item.get("region", "")
        if lang == "ja":
            where = f"（{region}）" if region else ""
            lines.append(f"{item['object']}{where}: {item['feature']}")
        else:
            where = f" ({region})" if region else ""
            lines.append(f"{item['object']}{where}: {item['feature']}")
    return "\n".join(lines)
