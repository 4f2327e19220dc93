"""A stock worker frozen (SIGSTOP) past its session timeout, then thawed: a zombie.

While it is frozen its session ends (``broker_session_timeout``, 10 s): the group
takes it out, the other stock worker gets its partitions, restores their table
from the changelog and decides on. Then SIGCONT: the zombie still holds the
commands it had fetched and the records its producer had not sent, and it does
not know it is out of the group until its next heartbeat fails.

What fences it: its offset commits carry a member id the group no longer has and
are refused (``UnknownMemberIdError``), so it commits nothing, and it rejoins as a
new member (static membership does not help here: its session had ended). Its
writes are not fenced (no transactions): a command it decides again is decided
the same, byte for byte, so the events it still sends repeat the new owner's (the
audit is clean, nothing is decided twice, exact totals hold), but its late table
writes land in the changelog after the new owner's. The test checks
the audit, whether an order was decided at two different commands, and whether
the changelog ends with a state older than the live one. One of them went wrong
in 5 of the first 7 runs: twice the changelog ended stale, twice the zombie
rejoined, took partitions back, restored them from that changelog and the audit
failed, once an order's OrderPaid was sent for two commands. The test then
reports the known failure it is (xfail, docs/guarantees.md) instead of passing;
what it always requires is that the zombie's commits were refused and that it
lives on.
"""

from __future__ import annotations

import asyncio
import io
import re
import signal
from collections.abc import Callable

import pytest

from kit.processes import ManagedProcess
from ops.audit import CLEAN, run_audit
from streams.settings import Settings
from tests.cluster.changelog import disagreements
from tests.cluster.figures import answers_between, exact_totals, memory
from tests.cluster.kafka_three import KafkaThree
from tests.faults.rig import Apis, Rig, Workers, open_sale
from tests.faults.test_rebalance import assert_no_order_decided_twice
from tests.support.stock_sale import worker_stock

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.cluster]

SESSION_SECONDS = 10.0  # streams/app.py, broker_session_timeout
FROZEN_SECONDS = SESSION_SECONDS + 8.0
# What the zombie's log says when it learns it is out of the group.
FENCED = re.compile(
    r"[^\n]*(UnknownMemberId|member_id was not recognized|FencedInstanceId|IllegalGeneration"
    r"|CommitFailed)"
)
# The group told it that it no longer knows its member id: on a commit (UnknownMemberId),
# or on its first heartbeat after the thaw, whichever it tried first.
FORGOTTEN = {"UnknownMemberId", "member_id was not recognized"}


def served(worker: ManagedProcess) -> set[int]:
    try:
        return {int(r["product_id"]) for r in worker_stock(worker.web_port)}
    except OSError:
        return set()


async def until_served(
    rig: Rig, by: list[ManagedProcess], within: float, products: set[int] | None = None
) -> float:
    """Until ``by`` together serve every product of the sale; the seconds it took."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    wanted = products or set(rig.products)
    while not wanted <= set().union(*(served(w) for w in by)):
        assert loop.time() - began < within, {w.name: served(w) for w in by}
        await asyncio.sleep(0.2)
    return loop.time() - began


async def test_a_worker_frozen_past_its_session_timeout_then_thawed(
    settings_factory: Callable[..., Settings],
    worker_factory: Workers,
    api_factory: Apis,
    kafka_three: KafkaThree,
) -> None:
    rig = await open_sale(
        settings_factory(), worker_factory, api_factory, workers=("worker-1", "worker-2")
    )
    zombie, other = rig.workers["worker-1"], rig.workers["worker-2"]
    buyers = rig.buyers()
    await buyers.until(acknowledged=200)
    its_products = served(zombie)
    assert its_products, "worker-1 serves nothing to take over"
    loop = asyncio.get_running_loop()
    in_flight = sum(buyers.in_flight.values())
    began = loop.time()
    zombie.signal(signal.SIGSTOP)
    try:
        taken_over = await until_served(rig, [other], within=FROZEN_SECONDS + 40)
        await asyncio.sleep(max(0.0, FROZEN_SECONDS - (loop.time() - began)))
        log_at_thaw = len(zombie.log())
    finally:
        zombie.signal(signal.SIGCONT)
    thawed = loop.time()
    frozen = thawed - began
    settled = await until_served(rig, [zombie, other], within=60)
    await buyers.until_decided(150, within=90)
    await buyers.stop()
    woke = zombie.log()[log_at_thaw:]
    assert zombie.alive, woke[-3000:]
    assert not [a for a in buyers.answers if a.status is None or a.status >= 500]
    out = io.StringIO()
    code = await run_audit(
        rig.settings, rig.worker_urls(), timeout=120, acknowledged=buyers.acknowledged(), out=out
    )
    report = out.getvalue()
    stale = await disagreements(rig.settings, [zombie.web_port, other.web_port])
    fenced = sorted({m[1] for m in FENCED.finditer(woke)})
    print(
        f"\nFAULT zombie worker-1: {in_flight} requests in flight; frozen {frozen:.1f}s;"
        f" worker-2 served its products"
        f" {sorted(its_products)} after {taken_over:.1f}s; after SIGCONT every product"
        f" served again in {settled:.1f}s; the zombie was told {fenced or 'nothing'};"
        f" longest without a decision {buyers.longest_silence():.1f}s;"
        f" answers while frozen {dict(answers_between(buyers, began, thawed))};"
        f" changelog records older than the live state {len(stale)};"
        f" {report.strip().splitlines()[-1]}; {memory(kafka_three)}"
    )
    # Its commits are fenced: the group no longer knows its member id.
    assert FORGOTTEN & set(fenced), woke[-3000:]
    # Its writes are not: they land after the new owner's, an order can be decided at
    # two commands, and a restore (its own, when it rejoins and takes partitions back)
    # brings an older state back.
    try:
        await assert_no_order_decided_twice(rig.settings, buyers.acknowledged())
        twice = ""
    except AssertionError as exc:
        twice = str(exc)[:300]
    if code != CLEAN or stale or twice:
        pytest.xfail(
            f"zombie not fenced: audit exit {code}: {report.strip().splitlines()[:3]};"
            f" changelog older than the live state: {stale[:3]}; decided twice: {twice}"
        )
    exact_totals(report)
