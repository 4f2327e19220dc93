"""``run_until_done``: MySQL outages waited out with the shared back-off, logged sparingly."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pymysql
import pytest

from storage import retrying
from storage.retrying import run_until_done


class FlakyDatabase:
    """Fails the first ``failures`` runs with ``error``, then runs the work on no cursor."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.runs = failures, error, 0

    async def run(self, work: Callable[[Any], Any]) -> Any:
        self.runs += 1
        if self.runs <= self.failures:
            raise self.error
        return work(None)


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits ``run_until_done`` asks for, recorded instead of slept."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(retrying, "asyncio", SimpleNamespace(sleep=sleep))
    return waits


async def test_an_outage_is_retried_with_growing_capped_waits(
    slept: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    db = FlakyDatabase(8, pymysql.OperationalError(2003, "down"))
    retried: list[str] = []
    with caplog.at_level(logging.INFO, logger=retrying.__name__):
        result = await run_until_done(db, lambda cur: "done", "orders", retried.append)  # type: ignore[arg-type]
    assert result == "done"
    assert slept == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert retried == ["orders"] * 8
    failed = [
        r for r in caplog.records if "failed" in r.getMessage() and "time(s)" in r.getMessage()
    ]
    assert [r.getMessage().split(" failed ")[1].split()[0] for r in failed] == ["1", "2", "4", "8"]
    assert {r.levelno for r in failed} == {logging.WARNING}
    assert caplog.records[-1].getMessage() == "orders: MySQL answered again after 8 failed attempts"


async def test_a_data_error_is_logged_louder(
    slept: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    db = FlakyDatabase(1, pymysql.IntegrityError(1062, "duplicate"))
    with caplog.at_level(logging.INFO, logger=retrying.__name__):
        await run_until_done(db, lambda cur: None, "payments")  # type: ignore[arg-type]
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.INFO]
    assert slept == [0.1]


async def test_each_call_starts_from_the_first_wait(slept: list[float]) -> None:
    await run_until_done(FlakyDatabase(3, OSError("refused")), lambda cur: 1, "a")  # type: ignore[arg-type]
    await run_until_done(FlakyDatabase(2, OSError("refused")), lambda cur: 1, "b")  # type: ignore[arg-type]
    assert slept == [0.1, 0.2, 0.4, 0.1, 0.2]


async def test_a_first_success_neither_waits_nor_logs(
    slept: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=retrying.__name__):
        assert await run_until_done(FlakyDatabase(0, OSError()), lambda cur: 7, "c") == 7  # type: ignore[arg-type]
    assert slept == []
    assert caplog.records == []
