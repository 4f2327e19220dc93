"""The settings ``make up`` started the stack with, for the operator tools: ``.run/stack.env``.

``make run`` and ``make up`` run the stack with ``FLASHSALE_ENV=dev`` unless told
otherwise, but the shell an operator opens beside it has no ``FLASHSALE_*``
variables: ``flashsale-admin`` would default to prod and refuse to sign tokens (or
sign them with another secret than the API's). So ``make up`` writes down the
settings it ran with, none of them secret, and the operator CLI reads them beneath
the environment: the shell's variables beat the file, which beats the defaults.
``make down`` deletes the file with the stack.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from streams.settings import Settings

# Never a secret here (no JWT secret, no URL that may carry a password).
RECORDED = (
    "FLASHSALE_ENV",
    "FLASHSALE_APP_ID",
    "FLASHSALE_WORKERS",
    "FLASHSALE_PARTITIONS",
    "FLASHSALE_API_PORT",
    "FLASHSALE_KAFKA_BOOTSTRAP",
)


def stack_env_file(run_dir: Path) -> Path:
    return run_dir / "stack.env"


def write_stack_env(settings: Settings, run_dir: Path) -> None:
    values = settings.to_env()
    lines = [f"{name}={values[name]}\n" for name in RECORDED]
    run_dir.mkdir(exist_ok=True)
    stack_env_file(run_dir).write_text("".join(lines))


def read_stack_env(run_dir: Path) -> dict[str, str]:
    """The recorded settings; {} when no stack was brought up from here."""
    try:
        text = stack_env_file(run_dir).read_text()
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {name: value for name, value in pairs if name in RECORDED}


def operator_settings(run_dir: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings for a command acting on the running stack: environment over ``stack.env``."""
    shell = os.environ if environ is None else environ
    return Settings.from_env({**read_stack_env(run_dir), **shell})
