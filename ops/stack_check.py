"""Check that ``make up`` is idempotent and ``make down`` stops everything.

Runs ``up`` twice, counts the live processes of each kind (exactly one each), runs
``down`` and checks that none is left. Whatever was running before is brought
back afterwards. ``make test`` runs it after the test suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ops import processes, services, stack
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


def main() -> int:
    settings = Settings.from_env()
    specs = [*stack.app_specs(settings), services.kafka_spec()]
    specs += [services.mariadb_spec(), services.redis_spec()]
    was_up = processes.running_pid("api", stack.api_spec(settings).marker) is not None
    failures = []
    stack.up(settings)
    stack.up(settings)
    for spec in specs:
        if (found := count_processes(spec.marker)) != 1:
            failures.append(f"after two `up`: {found} processes of {spec.name}, expected 1")
    stack.down(settings)
    for spec in specs:
        if spec.port is not None and processes.port_open(spec.port):
            failures.append(f"after `down`: {spec.name} still listens on {spec.port}")
        if (found := count_processes(spec.marker)) != 0:
            failures.append(f"after `down`: {found} processes of {spec.name} left")
    if was_up:
        stack.up(settings)
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"stack check: {len(specs) * 2 - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
