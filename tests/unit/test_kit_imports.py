"""The kit's one-way imports: the tests and the bench import ``kit``; ``kit`` and the
bench import nothing of ``tests``; product code imports neither ``kit`` nor ``bench``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["streams", "agents", "tables", "api", "storage", "ops", "analytics"]


def imported(package: str) -> set[tuple[str, str]]:
    """(module file, top-level package) of every import in ``package``."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            found |= {(str(path.relative_to(ROOT)), name.split(".")[0]) for name in names}
    return found


@pytest.mark.parametrize("package", ["kit", "bench"])
def test_the_kit_and_the_bench_import_no_tests(package: str) -> None:
    assert not [path for path, top in imported(package) if top == "tests"]


@pytest.mark.parametrize("package", PRODUCT)
def test_product_code_imports_neither_the_kit_nor_the_bench(package: str) -> None:
    assert not [(path, top) for path, top in imported(package) if top in ("kit", "bench")]
