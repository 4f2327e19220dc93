"""What a buyer does after a reservation: pay, retrying while the order still looks PENDING.

The buyer may learn of the reservation (from the 201 answer, or here from the
topic) before the API's order projection does; the API then answers 409
INVALID_STATE. A real client retries that after a moment; the bench does too,
and the retries show in the report as their own answers.
"""

from __future__ import annotations

import asyncio

from bench.client import Call, HttpClient

PAY_WAIT = 5.0
RETRY_SECONDS = 0.05
MAX_TRIES = 100
RETRY = "pay-retry"


async def pay(client: HttpClient, order_id: str, token: str) -> Call:
    """``POST /orders/{id}/pay`` with ``Prefer: wait``; the last answer."""
    for _ in range(MAX_TRIES - 1):
        call = await client.post("pay", f"/orders/{order_id}/pay", token, wait=PAY_WAIT)
        if not _still_pending(call):
            return call
        call.kind = RETRY  # counted apart: the request the buyer had to repeat
        await asyncio.sleep(RETRY_SECONDS)
    return await client.post("pay", f"/orders/{order_id}/pay", token, wait=PAY_WAIT)


def _still_pending(call: Call) -> bool:
    error = call.body.get("error")
    return (
        call.status == 409
        and isinstance(error, dict)
        and error.get("code") == "INVALID_STATE"
        and "PENDING" in str(error.get("message", ""))
    )
