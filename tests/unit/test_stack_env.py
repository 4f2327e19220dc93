"""``.run/stack.env``: what ``make up`` records for the operator tools, and who wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.stack_env import operator_settings, read_stack_env, write_stack_env
from streams.settings import DEV_JWT_SECRET, Settings

SECRET = "s" * 40


def test_the_stack_settings_are_recorded_without_secrets(tmp_path: Path) -> None:
    stack = Settings(env="dev", workers=3, app_id="shop", jwt_secret=SECRET)
    write_stack_env(stack, tmp_path)
    recorded = read_stack_env(tmp_path)
    assert recorded["FLASHSALE_ENV"] == "dev" and recorded["FLASHSALE_WORKERS"] == "3"
    assert SECRET not in (tmp_path / "stack.env").read_text()
    assert "FLASHSALE_MYSQL_URL" not in recorded


def test_the_shell_beats_the_file_which_beats_the_defaults(tmp_path: Path) -> None:
    write_stack_env(Settings(env="dev", workers=3), tmp_path)
    beside = operator_settings(tmp_path, environ={})
    assert beside.env == "dev" and beside.workers == 3
    with pytest.warns(RuntimeWarning):  # dev: the public dev secret, as the stack's API uses
        assert beside.signing_secret() == DEV_JWT_SECRET
    told = operator_settings(tmp_path, environ={"FLASHSALE_WORKERS": "2"})
    assert told.workers == 2 and told.env == "dev"


def test_without_a_stack_the_defaults_apply(tmp_path: Path) -> None:
    assert read_stack_env(tmp_path) == {}
    assert operator_settings(tmp_path, environ={}).env == "prod"
