"""What a buyer does after a reservation: pay, retrying while the API cannot see it yet.

The bench learns of a reservation from the order-events topic, which can be
before the API has answered the buyer's own order request (and so before it has
written the order's PENDING projection): the API then answers 404 NOT_FOUND,
or 409 INVALID_STATE while the projection still says PENDING. A real buyer
never pays before their order's answer; the bench retries those two answers
after a moment instead, and the retries show in the report as their own answers.
"""

from __future__ import annotations

import asyncio

from bench.client import Call, HttpClient

PAY_WAIT = 5.0
RETRY_SECONDS = 0.05
RETRY_FOR_SECONDS = 30.0
RETRY = "pay-retry"


async def pay(client: HttpClient, order_id: str, token: str) -> Call:
    """``POST /orders/{id}/pay`` with ``Prefer: wait``; the last answer."""
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + RETRY_FOR_SECONDS
    while True:
        call = await client.post("pay", f"/orders/{order_id}/pay", token, wait=PAY_WAIT)
        if not _not_visible_yet(call) or loop.time() > give_up_at:
            return call
        call.kind = RETRY  # counted apart: the request the buyer had to repeat
        await asyncio.sleep(RETRY_SECONDS)


def _not_visible_yet(call: Call) -> bool:
    error = call.body.get("error")
    if not isinstance(error, dict):
        return False
    if call.status == 404 and error.get("code") == "NOT_FOUND":
        return True
    return (
        call.status == 409
        and error.get("code") == "INVALID_STATE"
        and "PENDING" in str(error.get("message", ""))
    )
