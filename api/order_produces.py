"""ReserveOrders to Kafka, coalesced per product (topology.md, "Command records").

An order for a product with no produce in flight is sent at once, bare. Orders
for that product that arrive while it is in flight wait for it, then go together
as one ``CommandBatch`` record (a lone one bare again), up to
``MAX_BATCH_COMMANDS`` a record: a group commit, no timer, so an order waits for
at most one produce round trip before its own. ``CommandProducer.send`` returns
once Kafka has the record with acks=all, so every order of a record is answered
202 (or waits for its decision) only then, and a record Kafka did not take is a
503 for exactly the orders it held.
"""

from __future__ import annotations

from aiohttp import web

from api.app_keys import PRODUCER, SETTINGS
from api.group_commit import GroupCommit
from streams.records import MAX_BATCH_COMMANDS, CommandBatch, ReserveOrder
from streams.topics import STOCK_COMMANDS, product_message_key


def record_value(product_id: int, orders: list[ReserveOrder]) -> bytes:
    """One order bare, several as a CommandBatch of whole ReserveOrders, in arrival order."""
    if len(orders) == 1:
        return bytes(orders[0].dumps())
    commands = [order.to_representation() for order in orders]
    return bytes(CommandBatch(product_id=product_id, commands=commands).dumps())


def order_produces(app: web.Application) -> GroupCommit[int, ReserveOrder]:
    producer, topic = app[PRODUCER], STOCK_COMMANDS.name(app[SETTINGS])

    async def produce(product_id: int, orders: list[ReserveOrder]) -> None:
        await producer.send(
            topic, product_message_key(product_id), record_value(product_id, orders)
        )

    return GroupCommit(produce, MAX_BATCH_COMMANDS)
