"""The layers stay visible: contracts checked by import-linter, and the pure rules load without SQLite or Textual."""

from __future__ import annotations

import json
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


def test_pure_rules_import_neither_sqlite_nor_textual() -> None:
    loaded = loaded_after("console.workflow, console.calendars, console.sla, console.policy, console.phrases")
    assert sorted(m for m in loaded if m.split(".")[0] in ("sqlite3", "sqlite_utils", "textual", "db")) == []


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
    loaded = loaded_after("console.cli, console.app, console.screens.queue, console.calendars")
    heavy = {"pydantic", "pydantic_core", "sqlite_utils", "click", "holidays", "humanize"}
    ours = {"db.store", "db.models", "console.service", "console.policy"}
    assert sorted({m.split(".")[0] for m in loaded} & heavy | loaded & ours) == []
