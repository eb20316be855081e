"""The import rules of docs/architecture.md, checked against the code (every import, including
those inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# room -> the rooms of ``core`` it may import (docs/architecture.md, "The rooms").
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "regions": set(),
    "registry": {"errors"},
    "images": {"errors"},
    "models": {"errors", "registry", "runtime"},
    "attribution": {"errors", "models"},
    "render": {"regions"},
    "explainers": {"colours", "errors", "models", "regions", "registry", "render"},
    "pipeline": {"attribution", "errors", "explainers", "images", "models", "regions", "render"},
    "colours": set(),
    "text": {"colours", "errors", "regions"},
    "store": {"errors"},
    "mining": {"errors", "store", "text"},
    "jobs": {"errors", "explainers", "images", "mining", "models", "pipeline", "store", "text"},
    "datasets": {"errors", "images"},
    "runtime": {"errors"},
    "evaluation": {"datasets", "errors", "models", "registry", "runtime"},
    "train": {"datasets", "errors", "evaluation", "models", "render", "runtime"},
    "synth": {"errors", "models"},
    "synth_text": set(),
    "export": set(),
    "report": {"errors", "explainers", "mining", "store"},
    "verify": {"attribution", "errors", "export", "images", "mining", "models", "regions", "store"},
    "dashboard": {"attribution", "errors", "export", "jobs", "mining", "report", "store"},
}
# Rooms at the top (demo, bench, faithfulness, cli, the package itself) may import any room.
TOP = {"core", "__main__", "cli", "demo", "bench", "faithfulness", "suite", "verify_bench"}


def _room(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "dashboard":
        return "dashboard"
    if parts[0] != "core":
        return None
    return parts[1] if len(parts) > 1 else "core"


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every absolute module a file imports (``from core import x`` counts as ``core.x``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "core":
                found += [(f"core.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((node.module, node.lineno))
    return found


def _modules() -> list[tuple[Path, str]]:
    files = sorted((ROOT / "core").rglob("*.py")) + sorted((ROOT / "dashboard").rglob("*.py"))
    modules = []
    for p in files:
        parts = p.relative_to(ROOT).with_suffix("").parts
        modules.append((p, ".".join(parts[:-1] if parts[-1] == "__init__" else parts)))
    return modules


def test_every_room_imports_only_what_the_architecture_allows():
    broken = []
    for path, module in _modules():
        room = _room(module)
        if room in TOP:
            continue
        assert room in ALLOWED, f"{module}: room {room!r} is not in docs/architecture.md"
        for name, line in _imports(path):
            target = _room(name)
            if target in (None, room, "core", "__version__"):  # the package root is lazy
                continue
            if target not in ALLOWED[room]:
                broken.append(f"{path.relative_to(ROOT)}:{line}: {room} imports {name}")
    assert not broken, "\n".join(broken)


def test_the_dashboard_takes_only_the_progress_file_from_the_jobs():
    for path, _ in _modules():
        if path.is_relative_to(ROOT / "dashboard"):
            for name, line in _imports(path):
                if _room(name) == "jobs":
                    assert name == "core.jobs.progress", f"{path}:{line} imports {name}"


def test_core_never_imports_streamlit_or_the_dashboard_and_the_dashboard_never_torch():
    for path, module in _modules():
        tops = {name.split(".")[0] for name, _ in _imports(path)}
        if module.startswith("core"):
            assert not tops & {"streamlit", "dashboard"}, path
        else:
            assert not tops & {"torch", "torchvision", "pytorch_grad_cam"}, path
