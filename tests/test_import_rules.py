"""Imports sit at the top of a module; one inside a function says why, in a comment.

ARCHITECTURE.md's layers and the absence of cycles are checked by import-linter
(`make lint`); this checks the rest of the rule, which import-linter cannot see.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("workbench", "queues", "actions", "classifiers")


def local_imports_without_reason(source: str) -> list[int]:
    """Line numbers of imports inside a function with no comment above or beside them."""
    lines = source.splitlines()
    tree = ast.parse(source)
    found: set[int] = set()
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            if not above.startswith("#") and "#" not in lines[node.lineno - 1]:
                found.add(node.lineno)
    return sorted(found)


def test_the_check_sees_an_unexplained_import_and_accepts_an_explained_one() -> None:
    source = ("def f():\n    import json\n    return json\n\n"
              "def g():\n    # Heavy: loaded on first use.\n    import torch\n"
              "    import faiss  # optional\n    return torch, faiss\n")
    assert local_imports_without_reason(source) == [2]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_unexplained_import_inside_a_function(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
        for line in local_imports_without_reason(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "move these imports to the top, or say why they are here"
