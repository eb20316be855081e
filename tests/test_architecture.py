"""The import rules of docs/architecture.md, checked against the code (every import, including
those inside functions)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# room -> the rooms of ``core`` it may import (docs/architecture.md, "The rooms").
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "languages": set(),
    "formatting": set(),
    "files": set(),
    "regions": set(),
    "registry": {"errors"},
    "images": {"errors"},
    "models": {"errors", "files", "registry", "runtime"},
    "attribution": {"errors", "models"},
    "render": {"files", "regions"},
    "explainers": {
        "colours",
        "errors",
        "languages",
        "models",
        "regions",
        "registry",
        "render",
        "store",
    },
    "pipeline": {
        "attribution",
        "errors",
        "explainers",
        "images",
        "models",
        "regions",
        "render",
        "store",
    },
    "colours": set(),
    "processes": set(),
    "text": {"colours", "errors", "languages", "processes", "regions"},
    "store": {"errors"},
    "mining": {"errors", "export", "languages", "store", "text"},
    "jobs": {
        "attribution",
        "errors",
        "explainers",
        "images",
        "mining",
        "models",
        "pipeline",
        "registry",
        "store",
        "text",
    },
    "datasets": {"errors", "images", "processes"},
    "runtime": {"errors"},
    "evaluation": {"datasets", "errors", "models", "registry", "runtime"},
    "train": {"datasets", "errors", "evaluation", "files", "models", "render", "runtime"},
    "export": set(),
    "report": {"errors", "explainers", "files", "formatting", "languages", "mining", "store"},
    "verify": {
        "attribution",
        "errors",
        "export",
        "images",
        "jobs",
        "mining",
        "models",
        "regions",
        "runtime",
        "store",
    },
    "dashboard": {
        "attribution",
        "errors",
        "export",
        "formatting",
        "jobs",
        "languages",
        "mining",
        "report",
        "store",
    },
}
# Rooms at the top (cli, lab: the measuring tools, the package itself) may import any room.
TOP = {"core", "__main__", "cli", "lab"}


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


# ---------------------------------------------------------------- the store owns every statement
#
# SQL (a statement run with ``execute``/``executemany``/``sql``, or SQL text in a string) lives
# only in ``core/store/``; every other room calls a store function. The rule covers the product
# (``core/`` and ``dashboard/``). ``tests/``, ``benchmarks/`` and ``scripts/`` are exempt: they
# build fixture DBs with raw SQL on purpose (frozen DDL of old schemas, synthetic corpora), and
# what they check is the store's behaviour on those files. Inside the store, transactions are
# begun, committed and rolled back only by the one helper, ``core.store.writer.transaction``.

SQL_CALLS = {"execute", "executemany", "sql"}
TRANSACTION_CALLS = {"begin", "commit", "rollback"}
SQL_TEXT = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b"
    r"|\bDELETE\s+FROM\b|\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+|TEMPORARY\s+|UNIQUE\s+)?"
    r"(?:TABLE|INDEX|SEQUENCE|VIEW|MACRO|TYPE)\b|\bDROP\s+(?:TABLE|INDEX|SEQUENCE|VIEW)\b"
    r"|\bALTER\s+TABLE\b|^\s*(?:SELECT|WITH|BEGIN|COMMIT|ROLLBACK|CHECKPOINT|PRAGMA|ATTACH"
    r"|DETACH|COPY)\b"
)
TRANSACTION_TEXT = re.compile(r"\b(?:BEGIN|COMMIT|ROLLBACK)\b")
STORE = ROOT / "core" / "store"
TRANSACTION_HELPER = STORE / "writer.py"


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes (prose about SQL is not SQL)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _strings(tree: ast.AST) -> list[tuple[str, int]]:
    """Every string literal (an f-string with ``{}`` for its fields), docstrings left out."""
    skip = _docstrings(tree)
    inner = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
            inner.update(id(v) for v in node.values)
            found.append(("".join(map(str, parts)), node.lineno))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and id(node) not in inner
        ):
            found.append((node.value, node.lineno))
    return found


def _calls(tree: ast.AST, names: set[str]) -> list[tuple[str, int]]:
    """Calls of a method or function named in ``names``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in names:
                found.append((name, node.lineno))
    return found


def sql_outside_the_store(root: Path = ROOT) -> list[str]:
    """``path:line: what`` for every statement or SQL text in core/ and dashboard/ outside
    core/store/."""
    broken = []
    files = sorted((root / "core").rglob("*.py")) + sorted((root / "dashboard").rglob("*.py"))
    for path in files:
        if path.is_relative_to(root / "core" / "store"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(root)
        broken += [f"{where}:{line}: calls {name}(" for name, line in _calls(tree, SQL_CALLS)]
        broken += [
            f"{where}:{line}: SQL text {text.strip()[:60]!r}"
            for text, line in _strings(tree)
            if SQL_TEXT.search(text)
        ]
    return broken


def transactions_outside_the_helper(root: Path = ROOT) -> list[str]:
    """``path:line: what`` for every transaction begun, committed or rolled back by hand
    anywhere in core/ and dashboard/ but the helper's file."""
    broken = []
    files = sorted((root / "core").rglob("*.py")) + sorted((root / "dashboard").rglob("*.py"))
    for path in files:
        if path == root / TRANSACTION_HELPER.relative_to(ROOT):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(root)
        broken += [f"{where}:{line}: calls {n}(" for n, line in _calls(tree, TRANSACTION_CALLS)]
        broken += [
            f"{where}:{line}: {text.strip()[:40]!r}"
            for text, line in _strings(tree)
            if SQL_TEXT.search(text) and TRANSACTION_TEXT.search(text)
        ]
    return broken


def test_the_store_owns_every_statement():
    broken = sql_outside_the_store()
    assert not broken, "SQL outside core/store/ (move it into a store function):\n" + "\n".join(
        broken
    )


def test_transactions_go_through_the_one_helper():
    broken = transactions_outside_the_helper()
    assert not broken, "use core.store.writer.transaction:\n" + "\n".join(broken)


def test_the_sql_rule_sees_statements_and_sql_text(tmp_path):
    (tmp_path / "core" / "store").mkdir(parents=True)
    (tmp_path / "dashboard").mkdir()
    (tmp_path / "core" / "store" / "ok.py").write_text('con.execute("SELECT 1 FROM t")\n')
    (tmp_path / "core" / "room.py").write_text(
        '"""Docstrings may say SELECT x FROM t."""\n'
        'Q = f"SELECT {col} FROM t"\n'
        'con.sql("x")\n'
        'label = "Select a word from the list"\n'
        'con.execute("BEGIN TRANSACTION")\n'
    )
    (tmp_path / "dashboard" / "page.py").write_text('HINT = "DELETE FROM words"\n')
    assert sql_outside_the_store(tmp_path) == [
        "core/room.py:3: calls sql(",
        "core/room.py:5: calls execute(",
        "core/room.py:2: SQL text 'SELECT {} FROM t'",
        "core/room.py:5: SQL text 'BEGIN TRANSACTION'",
        "dashboard/page.py:1: SQL text 'DELETE FROM words'",
    ]
    assert transactions_outside_the_helper(tmp_path) == [
        "core/room.py:5: 'BEGIN TRANSACTION'",
    ]


def _module_imports(path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` a file imports (``from pkg import mod`` counts as
    ``pkg.mod`` when that is a module), at any level of the file."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.append(full if full in modules else node.module)
    found = set()
    for name in names:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        found.add(name)
    return found - {""}


def test_no_import_circles_in_the_jobs_and_verify():
    """No module of ``core.jobs`` or ``core.verify`` imports itself back, however indirectly."""
    modules = {module: path for path, module in _modules()}
    graph = {m: _module_imports(p, set(modules)) - {m} for m, p in modules.items()}
    watched = [m for m in modules if m.startswith(("core.jobs.", "core.verify."))]
    circles = []
    for start in watched:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module == start:
                circles.append(start)
                break
            if module not in seen:
                seen.add(module)
                todo += graph.get(module, ())
    assert not circles, f"modules on an import circle: {sorted(circles)}"
