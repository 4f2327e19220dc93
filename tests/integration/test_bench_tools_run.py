"""Each bench tool, run end to end on a tiny load against the real servers, as
``make bench-stock``/``bench-saga``/``bench-persistence``/``bench-token`` run it.

``--help`` (tests/unit/test_bench_tools.py) proves only that a tool parses its
options; bench/token_check.py once passed that while it could no longer run at
all. A few hundred orders each keep this under a minute in all, but for
bench/saga_throughput.py: it times the saga between samples of its metrics taken
every 0.5 s, and 3,000 events were once followed whole between two (CI), so it gets
20,000 (about 5 s of following here, about ten samples; 12 s in all).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from ops.worker_command import VENV_BIN
from streams.settings import Settings

pytestmark = pytest.mark.integration

RUNS = {
    "bench.stock_throughput": (
        ["--orders", "300", "--products", "2", "--per-record", "10"],
        "decisions/s",
    ),
    "bench.persistence_lag": (["--orders", "300"], '"lag_seconds"'),
    # Enough that the saga worker, at about 25,000 events a second, is sampled mid-way.
    "bench.saga_throughput": (["--orders", "60000"], "events/s"),
    "bench.token_check": (["--n", "200"], "us per request"),
}


@pytest.mark.parametrize("module", sorted(RUNS))
def test_the_tool_runs_on_a_small_load(module: str, base_settings: Settings) -> None:
    options, figure = RUNS[module]
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-m", module, *options],
        env={**os.environ, **base_settings.to_env()},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert figure in done.stdout, done.stdout[-2000:]
