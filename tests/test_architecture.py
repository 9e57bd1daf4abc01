"""The layers stay visible: contracts checked by import-linter, and the pure rules load without SQLite or Textual."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed")
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout


def loaded_after(imports: str) -> set[str]:
    """Every module a fresh interpreter holds after ``import <imports>``."""
    code = f"import sys, json; import {imports}; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout))


def rules_modules() -> list[str]:
    return sorted(f"console.rules.{p.stem}" for p in (ROOT / "console" / "rules").glob("*.py") if p.stem != "__init__")


def test_pure_rules_import_neither_sqlite_nor_textual() -> None:
    loaded = loaded_after(", ".join(rules_modules()))
    found = {m for m in loaded if m.split(".")[0] in ("sqlite3", "sqlite_utils", "textual", "rich", "db", "widgets")}
    assert sorted(found - {"db", "db.vocabulary"}) == []


def import_graph() -> dict[str, set[str]]:
    """Every import between the project's modules (TYPE_CHECKING imports included: a loop there is a loop too)."""
    import grimp

    graph = grimp.build_graph("console", "db", "widgets", cache_dir=None)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_loop() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_another_in_a_loop() -> None:
    assert cycles(import_graph()) == []


def test_only_the_service_touches_the_store() -> None:
    """Outside console/service/, nothing reaches through the service to its store or its private methods."""
    offenders = []
    for path in sorted((ROOT / "console").rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[1] == "service":
            continue
        text = path.read_text(encoding="utf-8")
        if ".store." in text or ".store)" in text or re.search(r"\bservice\._[a-z]", text):
            offenders.append(str(rel))
    assert offenders == []


def test_nothing_outside_db_imports_sqlite() -> None:
    offenders = []
    for path in (ROOT / "console").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "import sqlite3" in text or "import sqlite_utils" in text or "from sqlite_utils" in text:
            offenders.append(str(path.relative_to(ROOT)))
    for path in (ROOT / "widgets").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "sqlite" in text and "import" in text and ("import sqlite3" in text or "sqlite_utils" in text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_first_frame_needs_only_textual() -> None:
    """What the console imports before its first frame: the service's libraries load in a worker after it (they
    cost about as much again as Textual), and China's holidays come from their cache file."""
    loaded = loaded_after("console.cli.main, console.tui.app, console.tui.screens.queue, console.rules.calendars")
    heavy = {"pydantic", "pydantic_core", "sqlite_utils", "click", "holidays", "humanize"}
    ours = {"db.store", "db.models", "console.service.helpdesk", "console.rules.policy"}
    assert sorted({m.split(".")[0] for m in loaded} & heavy | loaded & ours) == []
