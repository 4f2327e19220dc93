"""Another member's order ids: GET, pay and cancel answer 404, show nothing, change nothing.

A foreign order looks exactly like an unknown one (same status, same body), in
every status it can be in (reserved, paid, rejected); pay and cancel by the
wrong member send no command, so the owner's order is untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kit.sale import Member
from streams.settings import Settings
from tests.hostile.shop import Apis, Shop, Workers, Writes, audit_clean, open_shop

pytestmark = [pytest.mark.integration, pytest.mark.hostile]

WAIT = {"Prefer": "wait=5"}
UNKNOWN = "0190a4c4-5e1a-7cc3-9b1e-3f6a2d9e8b71"


async def _order(shop: Shop, member: Member, product: int) -> dict[str, object]:
    status, body = await shop.call(
        "POST", "/orders", token=member.token, body={"product_id": product, "qty": 1}, headers=WAIT
    )
    assert status in (201, 409), body
    return dict(body)


async def test_another_members_orders_are_not_found(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    shop = await open_shop(settings_factory(rate_limit=0), worker_factory, api_factory, 3)
    owner, stranger, _ = shop.members
    reserved = await _order(shop, owner, shop.plenty)
    paid = await _order(shop, owner, shop.plenty)
    status, _ = await shop.call("POST", f"/orders/{paid['order_id']}/pay", token=owner.token)
    assert status in (200, 202)
    await _order(shop, owner, shop.scarce)
    rejected = await _order(shop, owner, shop.scarce)  # over the per-member limit of 1
    assert rejected["status"] == "REJECTED" and rejected["order_id"], rejected
    before = await audit_clean(shop)

    unknown = {path: await _stranger_calls(shop, stranger, UNKNOWN, path) for path in PATHS}
    async with Writes(shop.settings):
        for order in (reserved, paid, rejected):
            for path in PATHS:
                seen = await _stranger_calls(shop, stranger, str(order["order_id"]), path)
                assert seen == unknown[path], (order, path, seen)
    for order in (reserved, paid, rejected):
        status, body = await shop.call("GET", f"/orders/{order['order_id']}", token=owner.token)
        assert status == 200 and body["member_id"] == owner.member_id, body
    assert (await audit_clean(shop)).count("violation") == before.count("violation")


PATHS = ("GET {}", "POST {}/pay", "POST {}/cancel")


async def _stranger_calls(
    shop: Shop, stranger: Member, order_id: str, path: str
) -> tuple[int, object]:
    method, template = path.split(" ")
    url = template.format(f"/orders/{order_id}")
    status, body = await shop.call(method, url, token=stranger.token, headers=WAIT)
    assert status == 404 and body == {
        "error": {"code": "NOT_FOUND", "message": body["error"]["message"]}
    }, body
    text = str(body)
    assert order_id not in text and str(shop.members[0].member_id) not in text, body
    return status, body
