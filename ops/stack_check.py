"""Check that ``make up`` is idempotent and ``make down`` stops everything it started.

Runs ``up`` twice, counts the live processes of each kind (exactly one each), kills
one API process with SIGKILL and runs ``up`` again (it restarts just that one), runs
``down`` and checks that none is left. Servers that were already running when
``make`` found them (not started by it) are left alone and not counted. What was
running before is brought back afterwards. ``make test`` runs it after the suite.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from ops import monitoring, processes, stack
from ops.processes import ProcessSpec
from streams.settings import Settings


def count_processes(marker: str) -> int:
    count = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in text and "stack_check" not in text:
            count += 1
    return count


def _ours(spec: ProcessSpec) -> bool:
    return processes.running_pid(spec.name, spec.marker) is not None


def _check_up(specs: list[ProcessSpec]) -> list[str]:
    return [
        f"after two `up`: {found} processes of {spec.name}, expected 1"
        for spec in specs
        if (found := count_processes(spec.marker)) != 1
    ]


def _check_down(specs: list[ProcessSpec]) -> list[str]:
    failures = []
    for spec in specs:
        if spec.port is not None and processes.port_open(spec.port):
            failures.append(f"after `down`: {spec.name} still listens on {spec.port}")
        if (found := count_processes(spec.marker)) != 0:
            failures.append(f"after `down`: {found} processes of {spec.name} left")
    return failures


def _check_restart_of_one_api(settings: Settings, specs: list[ProcessSpec]) -> list[str]:
    """Kill the last API process; ``up`` must restart it and leave every other one be."""
    before = {spec.name: processes.running_pid(spec.name, spec.marker) for spec in specs}
    victim = stack.api_specs(settings)[-1]
    killed = before[victim.name]
    if killed is None:
        return [f"{victim.name} was not running before the kill"]
    os.kill(killed, signal.SIGKILL)
    processes.wait_gone(killed, timeout=10)
    stack.up(settings)
    after = {spec.name: processes.running_pid(spec.name, spec.marker) for spec in specs}
    failures = [
        f"after killing {victim.name} and `up`: {name} is pid {after[name]}, was {pid}"
        for name, pid in before.items()
        if name != victim.name and after[name] != pid
    ]
    if after[victim.name] in (None, killed):
        failures.append(f"after killing {victim.name} and `up`: it was not restarted")
    return failures


def main(argv: list[str] | None = None) -> int:
    # No options: this only makes `--help` (or a stray argument) answer instead of
    # starting and stopping the stack.
    argparse.ArgumentParser(prog="python -m ops.stack_check", description=__doc__).parse_args(argv)
    settings = Settings.from_env()
    # Prometheus is part of what `make up` starts and `make down` stops.
    app = [*stack.app_specs(settings), monitoring.stack_spec()]
    servers = [s for name, s in stack.known_specs(settings).items() if stack.is_server(name)]
    app_was_up = any(_ours(spec) for spec in app)
    servers_were_up = any(_ours(spec) for spec in servers)
    stack.up(settings)
    stack.up(settings)
    # Only what make started is make's to count and to stop.
    checked = app + [spec for spec in servers if _ours(spec)]
    failures = _check_up(checked)
    failures += _check_restart_of_one_api(settings, checked)
    stack.down(settings)
    failures += _check_down(checked)
    if processes.port_open(settings.api_port):
        failures.append(f"after `down`: the API port {settings.api_port} still answers")
    if app_was_up or servers_were_up:
        stack.up(settings, with_app=app_was_up)
    for failure in failures:
        print(f"FAIL {failure}")
    checks = len(checked) * 3
    print(f"stack check: {checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
