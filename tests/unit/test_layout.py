"""The house limits on size, checked on every run: modules of `core/` and `bot/` stay under 400
lines and functions under 80, so that a growing module is split by concept in time."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "core").rglob("*.py")) + sorted((ROOT / "bot").rglob("*.py"))


def test_modules_stay_under_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in SOURCES
        if (lines := path.read_text().count("\n")) > 400
    }
    assert long == {}


def test_functions_stay_under_80_lines() -> None:
    long = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 80:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = length
    assert long == {}
