"""The fault suite never leaves a shared server stopped, even when a test is interrupted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.settings import Settings
from tests.faults.servers import restore_all


@pytest.fixture(scope="session", autouse=True)
def servers_restored(base_settings: Settings) -> Iterator[None]:
    yield
    restore_all(base_settings)
