"""Building what is sent: the images of one request (pair, panel or numbered marks), its
prompt, its cache key, and the Chat Completions arguments."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.explainers.openai_settings import REASONING_ALLOWANCE, OpenAISettings
from core.explainers.prompts import PromptBuilder, PromptRegion
from core.explainers.vlm_cache import cache_key

if TYPE_CHECKING:
    from PIL import Image

    from core.explainers.base import ExplainRequest


@dataclass
class Prepared:
    """One request turned into what is sent: prompt, images and the cache key."""

    index: int
    prompt: str
    image_urls: list[str]
    image_hashes: list[str]
    key: str
    request_key: str | None = None
    regions: list[PromptRegion] = field(default_factory=list)


def png_data_url(image: Image.Image, max_side: int) -> tuple[str, bytes]:
    """Resize ``image`` so its long side is at most ``max_side``; return (data URL, PNG bytes)."""
    from PIL import Image as PILImage

    image = image.convert("RGB")
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, PILImage.Resampling.LANCZOS)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    data = buf.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii"), data


def prepared(
    settings: OpenAISettings,
    prompt: str,
    image_urls: Sequence[str],
    blobs: Sequence[bytes],
    index: int = 0,
    request_key: str | None = None,
    regions: Sequence[PromptRegion] = (),
) -> Prepared:
    """A :class:`Prepared` for ``prompt`` and ready images (data URLs and their bytes)."""
    return Prepared(
        index=index,
        prompt=prompt,
        image_urls=list(image_urls),
        image_hashes=[hashlib.sha256(b).hexdigest() for b in blobs],
        key=cache_key(settings.model, settings.public_url, prompt, blobs, settings.params),
        request_key=request_key,
        regions=list(regions),
    )


def prepare(
    settings: OpenAISettings, prompts: PromptBuilder, index: int, request: ExplainRequest
) -> Prepared:
    """The images, prompt and cache key of one explain request."""
    import numpy as np

    from core import render

    image = request.image.convert("RGB")
    cam = np.asarray(request.cam, dtype=np.float32)
    if cam.ndim != 2:
        raise ValueError(f"cam must be a 2-D map, got shape {cam.shape}")
    regions: list[PromptRegion] = []
    if settings.image_mode == "pair":
        images = [image, render.overlay(image, cam)]
    elif settings.image_mode == "panel":
        images = [render.panel(image, cam)]
    else:
        images, regions = _marks(image, cam, settings.lang)
    urls, blobs = zip(*(png_data_url(im, settings.max_side) for im in images), strict=True)
    prompt = prompts.render(
        task=request.task or "",
        label=request.label,
        lang=settings.lang,
        predictions=request.predictions,
        image_mode=settings.image_mode,
        regions=regions,
    )
    return prepared(settings, prompt, urls, blobs, index, request.key or None, regions)


def _marks(image: Image.Image, cam: Any, lang: str) -> tuple[list[Image.Image], list[PromptRegion]]:
    """The photo and its numbered-marks overlay, and the regions the numbers name."""
    from core import render
    from core.regions import find_regions, position_name

    found = find_regions(cam, max_regions=5)
    regions = [
        PromptRegion(
            index=int(r.index),
            position=position_name(r.position, lang),
            percent=round(float(r.heat_share) * 100),
            bbox=tuple(int(v) for v in r.bbox),
        )
        for r in found
    ]
    return [image, render.marks_overlay(image, cam, regions=found)], regions


def request_kwargs(settings: OpenAISettings, item: Prepared) -> dict[str, Any]:
    """The Chat Completions arguments of ``item``: one user message, text then images."""
    content: list[dict[str, Any]] = [{"type": "text", "text": item.prompt}]
    content += [{"type": "image_url", "image_url": {"url": url}} for url in item.image_urls]
    kwargs: dict[str, Any] = {
        "model": settings.model,
        "messages": [{"role": "user", "content": content}],
    }
    if settings.is_reasoning:
        kwargs["max_completion_tokens"] = settings.max_tokens + REASONING_ALLOWANCE
    else:
        kwargs["max_tokens"] = settings.max_tokens
        kwargs["temperature"] = settings.temperature
    return kwargs
