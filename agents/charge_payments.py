"""Charge and refund orders through the payment gateway (the saga's payment step).

``charge_payments`` takes a batch of ``order-events`` (from agents/follow_order_events.py)
and acts on ``PaymentRequested`` and ``RefundRequested`` only. For each it calls
the simulated gateway, then sends a PaymentEvent to ``payment-events`` (key order
id) and a SettlePayment command to ``stock-commands`` (key product id), whose
single writer moves the order on: a batch's settlements of one product travel in
one CommandBatch record, decided by the stock agent as one batch.

Gateway latency must not stall other orders: a batch's orders are paid
together, while each order's own requests run one after another (a refund
must follow its charge). So the batch goes to the gateway in rounds, the first
request of every order, then the second..., each round one call per operation
(``PaymentGateway.call_many``: one MySQL transaction, not one per payment). The
batch is done only once Kafka has acknowledged its answers, so offsets are
committed only past work done; a crash replays the batch, and the gateway's
ledger answers the replay as it answered the first call (no double charge).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agents.clients import gateway_database
from agents.payment_gateway import GatewayResult, PaymentGateway
from agents.payment_requests import (
    PaymentRequest,
    by_order,
    payment_event,
    payment_request,
    settle_command,
    settle_records,
)
from agents.saga_metrics import count_mysql_retry, saga_metrics
from streams.app import payment_events, settings, stock_commands
from streams.topics import product_message_key

Settled = list[tuple[PaymentRequest, GatewayResult]]


@functools.cache
def _gateway() -> PaymentGateway:
    return PaymentGateway(
        gateway_database(),
        settings.payment_failure_rate,
        settings.payment_latency_ms,
        on_retry=count_mysql_retry,
    )


def _rounds(groups: Sequence[Sequence[PaymentRequest]]) -> list[list[PaymentRequest]]:
    """The first request of every order, then the second, and so on."""
    return [[g[n] for g in groups if n < len(g)] for n in range(max(map(len, groups)))]


async def _settle_round(requests: Sequence[PaymentRequest]) -> Settled:
    by_operation: dict[str, list[PaymentRequest]] = {}
    for request in requests:
        by_operation.setdefault(request.operation, []).append(request)
    answers = await asyncio.gather(
        *(
            _gateway().call_many(operation, [(r.order_id, r.amount) for r in batch])
            for operation, batch in by_operation.items()
        )
    )
    return [
        (request, results[request.order_id])
        for batch, results in zip(by_operation.values(), answers, strict=True)
        for request in batch
    ]


async def _publish(settled: Sequence[Settled]) -> None:
    # Round after round: an order's answers go out in the order of its requests.
    sent = []
    settles = []
    for pairs in settled:
        for request, result in pairs:
            saga_metrics().payments.labels(result.operation, result.status).inc()
            sent.append(
                await payment_events.send(
                    key=request.order_id.encode(), value=payment_event(request, result)
                )
            )
            settles.append(settle_command(request, result))
    for product_id, value in settle_records(settles):
        sent.append(
            await stock_commands.send(
                key=product_message_key(product_id), value=value, value_serializer="json"
            )
        )
    # Acknowledged by Kafka before the batch is done (a refusal raises): only then may
    # the reader commit past the events that asked for them.
    await asyncio.gather(*sent)


async def charge_payments(events: Iterable[Mapping[str, Any]]) -> None:
    """Pay what the batch asks for; return once Kafka has acknowledged every answer."""
    groups = by_order(r for event in events if (r := payment_request(event)) is not None)
    if groups:
        await _publish([await _settle_round(requests) for requests in _rounds(groups)])
