"""Every bench tool with a make target of its own imports and parses its options, so
that none can rot unseen between runs (``--help`` runs nothing; the smoke run,
tests/integration/test_bench_smoke.py, covers ``python -m bench``)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = [
    "bench.expiry_burst",
    "bench.persistence_lag",
    "bench.saga_throughput",
    "bench.stock_throughput",
    "bench.token_check",
]


@pytest.mark.parametrize("module", TOOLS)
def test_the_tool_answers_help(module: str, capsys: pytest.CaptureFixture[str]) -> None:
    tool = importlib.import_module(module)

    with pytest.raises(SystemExit) as exited:
        tool.main(["--help"])

    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage:")


def test_every_tool_is_a_make_target_and_in_the_bench_readme() -> None:
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "bench" / "README.md").read_text()
    for module in TOOLS:
        assert re.search(rf"\$\(PY\) -m {re.escape(module)}\b", makefile), module
        assert f"`{module.replace('.', '/')}.py`" in readme, module
