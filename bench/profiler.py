"""py-spy flame graphs of the API and the workers while the load runs (``make bench-profile``).

``py-spy record`` attaches to each running process (it needs ptrace: root, or
``kernel.yama.ptrace_scope=0``) and writes ``<name>.svg`` when it gets SIGINT.
Idle time is left out, so each graph shows where the busy CPU time goes.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from kit.processes import VENV_BIN

RATE = 200  # samples a second


def start_profilers(pids: dict[str, int], out_dir: Path) -> list[subprocess.Popen[bytes]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    profilers = []
    for name, pid in pids.items():
        argv = [str(VENV_BIN / "py-spy"), "record", "--pid", str(pid), "--rate", str(RATE)]
        argv += ["--subprocesses", "--nonblocking", "-o", str(out_dir / f"{name}.svg")]
        with (out_dir / f"{name}.py-spy.log").open("ab") as log:
            profilers.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
    return profilers


def stop_profilers(profilers: list[subprocess.Popen[bytes]]) -> None:
    """SIGINT makes py-spy write its flame graph and exit."""
    for proc in profilers:
        proc.send_signal(signal.SIGINT)
    for proc in profilers:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
