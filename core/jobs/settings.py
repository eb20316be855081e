"""The job's settings: one frozen object built from the CLI, demo or dashboard arguments.

:meth:`JobSettings.identity` is the part that decides which run a job belongs to (stored as
``runs.settings``): rerunning with the same identity resumes the run. Runtime-only options
(``--concurrency`` ...) and secrets never enter it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from core.errors import WordcamError
from core.jobs.ray_options import RayOptions, check_engine

# Explainer/model options that change how a job runs but not what it produces: changing them
# must not start a new run (``--concurrency 8`` on a rerun still resumes).
RUNTIME_ONLY_OPTIONS = frozenset({"concurrency", "rpm", "timeout", "max_retries", "no_cache"})
# Never stored in the DB (settings are readable by anyone who can read the DB).
SECRET_MARKERS = ("key", "token", "secret", "password", "credential", "auth")
# Query parameters of a URL that carry a secret (besides SECRET_MARKERS): signatures.
SECRET_PARAMETERS = ("sig", "signature", "sas", "session")
MODES = ("blind", "informed")
#: Decoded pixels a photo batch may hold at once (about 300 MB of RGB): a batch closes early
#: before passing it, so a few huge photos never sit in memory together.
BATCH_PIXELS = 100_000_000


@dataclass(frozen=True)
class JobSettings:
    """What a job computes (model ... top_k, options) and how it runs (limit ... publish_every).

    ``model`` / ``explainer`` are specs or loaded objects; the option mappings go to their
    loaders (they may hold secrets, so they are left out of ``repr``). A text import uses only
    ``lang``, ``progress`` and ``publish_every``. ``engine`` / ``ray`` say where the photos are
    explained (:mod:`core.jobs.ray_options`); like ``limit``, they are not part of the identity.
    """

    model: Any = "imagenet"
    explainer: Any = "grounded"
    mode: str = "blind"
    method: str = "gradcam"
    lang: str = "ja"
    layer: str | None = None
    top_k: int = 3
    model_options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    explainer_options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    limit: int | None = None
    batch_size: int = 16
    batch_pixels: int = BATCH_PIXELS
    device: str = "auto"  # where the model runs; not part of identity(): another device resumes
    progress: bool = True
    publish_every: float = 10.0
    # Where the photos are explained (not part of the run's identity): "local" or "ray".
    engine: str = "local"
    ray: RayOptions = field(default_factory=RayOptions)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise WordcamError(f"unknown mode {self.mode!r}; use blind or informed")
        if self.batch_size < 1:
            raise WordcamError(f"--batch-size must be at least 1 (got {self.batch_size})")
        if self.batch_pixels < 1:
            raise WordcamError(f"batch_pixels must be at least 1 (got {self.batch_pixels})")
        check_engine(self.engine)
        for name in ("model_options", "explainer_options"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name) or {})))

    @classmethod
    def of(cls, settings: JobSettings | None = None, **options: Any) -> JobSettings:
        """``settings`` (default: the defaults) with ``options`` (field names) replaced."""
        if settings is None:
            return cls(**options)
        return replace(settings, **options) if options else settings

    @property
    def model_spec(self) -> str:
        """The model as stored in ``runs.model``: its spec, a model folder as an absolute path."""
        if not isinstance(self.model, str):
            model = self.model
            return str(
                getattr(model, "spec", "") or getattr(model, "arch", "") or type(model).__name__
            )
        path = Path(self.model).expanduser()
        return str(path.resolve()) if path.is_dir() else self.model

    @property
    def explainer_kwargs(self) -> dict[str, Any]:
        """The explainer loader's options: ``explainer_options``, ``lang`` unless given there."""
        return {"lang": self.lang, **self.explainer_options}

    @property
    def explainer_spec(self) -> str:
        """The explainer as stored in ``runs.explainer``: its spec or its ``name``."""
        if isinstance(self.explainer, str):
            return self.explainer
        return str(getattr(self.explainer, "name", self.explainer))

    def identity(self) -> dict[str, Any]:
        """The result-affecting settings, JSON-safe: equal identities mean the same run."""
        return {
            "model": self.model_spec,
            "model_options": clean_options(self.model_options),
            "explainer": self.explainer_spec,
            "explainer_options": clean_options(self.explainer_kwargs),
            "mode": self.mode,
            "method": self.method,
            "layer": self.layer,
            "lang": self.lang,
            "top_k": self.top_k,
        }


def clean_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """JSON-safe options that affect results: no secrets, no runtime-only knobs."""
    out: dict[str, Any] = {}
    for name, value in sorted((options or {}).items()):
        lowered = name.lower()
        if name in RUNTIME_ONLY_OPTIONS or any(m in lowered for m in SECRET_MARKERS):
            continue
        if isinstance(value, Path):
            value = str(value)
        if isinstance(value, str) and "://" in value:
            value = public_url(value)
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            value = repr(value)
        out[name] = value
    return out


def public_url(url: str) -> str:
    """``url`` safe to store: no ``user:password@``, no secret query parameters, no fragment.

    A query parameter is secret when its name contains a :data:`SECRET_MARKERS` word (``key``,
    ``api-key``, ``token`` ...) or is one of :data:`SECRET_PARAMETERS` (``sig`` ...).
    """
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # an IPv6 literal
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:  # not a URL after all (a bad port ...): keep nothing after the scheme
        return url.split("://", 1)[0] + "://"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _secret(k)]
    return urlunsplit((parts.scheme, host, parts.path, urlencode(query), ""))


def _secret(name: str) -> bool:
    lowered = name.lower()
    return any(m in lowered for m in SECRET_MARKERS) or lowered in SECRET_PARAMETERS
