"""An operator's mistake in a setting is one line on stderr, never a traceback.

Each command is started the way the README shows it, with one setting wrong or
missing; none of them gets as far as a server.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kit.processes import VENV_BIN

CASES = [
    (["faust", "-A", "streams.app", "stock"], {"FLASHSALE_PARTITIONS": "eight"}, 1),
    (["flashsale-api"], {"FLASHSALE_ENV": "prod"}, 1),
    (["flashsale-admin", "seed-members", "--count", "1"], {"FLASHSALE_ENV": "prod"}, 2),
    (["flashsale-admin", "audit"], {"FLASHSALE_WORKERS": "0"}, 2),
]


@pytest.mark.parametrize(("argv", "wrong", "status"), CASES, ids=lambda v: str(v))
def test_a_bad_setting_is_one_line(
    argv: list[str], wrong: dict[str, str], status: int, tmp_path: Path
) -> None:
    env = {"PATH": os.environ["PATH"], **wrong}
    command = [str(VENV_BIN / argv[0]), *argv[1:]]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == status, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "FLASHSALE_" in done.stderr and "Traceback" not in done.stderr
