"""The API killed with ``kill -9`` while requests are in flight.

Every order it acknowledged before dying (202, 201, or 409 with an order id) is
decided and has its row; requests cut off get no answer, and the clients' retries
with the same ``Idempotency-Key`` on a new API instance name the same orders
(at most one order per key). Then the audit is clean.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from streams.settings import Settings
from tests.faults.rig import Apis, Workers, audit_clean, open_sale

pytestmark = [pytest.mark.integration, pytest.mark.faults]


async def test_api_killed_with_requests_in_flight(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    rig = await open_sale(settings_factory(), worker_factory, api_factory)
    buyers = rig.buyers(concurrency=48)
    await buyers.until(acknowledged=300)
    in_flight = sum(buyers.in_flight.values())
    rig.api.kill()
    before = buyers.acknowledged()
    rig.api, buyers.base = rig.start_api(rig.settings, name="api-2")
    await buyers.until_decided(150)
    await buyers.stop()
    cut_off = [a for a in buyers.answers if a.status is None]
    assert cut_off, "no request was cut off by the kill"
    assert before <= buyers.acknowledged()
    await audit_clean(rig, buyers, "kill -9 API", in_flight, allowed={None})
