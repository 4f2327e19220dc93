"""A stock worker frozen (SIGSTOP) past its session timeout, then thawed: a zombie.

While it is frozen its session ends (``broker_session_timeout``, 10 s): the group
takes it out, the other stock worker gets its partitions, fences their changelog
producers (``init_transactions`` with the partitions' transactional ids), restores
their table from the changelog and decides on. Then SIGCONT: the zombie still holds
the commands it had fetched and a transaction it had left open, and does not know
it is out of the group until its next heartbeat fails.

What fences it (tables/stock_transactions.py): its open transaction was aborted by
the new owner's fence, and every write or commit of its producer is refused; on
that refusal it ends at once without a commit (exit 70) and is started again, as a
supervisor would, restoring from the changelog. Its offset commits are refused too
(``UnknownMemberIdError``). If it had nothing in flight it just rejoins. Either
way: a clean audit with exact totals, no order decided at two different commands,
and a changelog whose last record of every key is the live state (before the
fence, 5 of 7 runs broke one of these: once 22 units sold twice).
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
from tables.stock_transactions import FENCED_LOG
from tests.cluster.changelog import disagreements
from tests.cluster.figures import answers_between, exact_totals, memory
from tests.cluster.kafka_three import KafkaThree
from tests.faults.rig import Apis, Rig, Workers, open_sale
from tests.faults.test_rebalance import assert_no_order_decided_twice
from tests.support.stock_sale import worker_stock

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.cluster]

SESSION_SECONDS = 10.0  # streams/app.py, broker_session_timeout
FROZEN_SECONDS = SESSION_SECONDS + 8.0
# What the zombie's log says when the group tells it it is out.
OUT_OF_GROUP = re.compile(
    r"[^\n]*(UnknownMemberId|member_id was not recognized|FencedInstanceId|IllegalGeneration"
    r"|CommitFailed)"
)
# The group told it that it no longer knows its member id: on a commit (UnknownMemberId),
# or on its first heartbeat after the thaw, whichever it tried first.
FORGOTTEN = {"UnknownMemberId", "member_id was not recognized"}
READY = "Worker ready"  # Faust's log line at the end of a rebalance's recovery


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
    ended = await until_fenced_or_rejoined(rig, zombie, other, log_at_thaw, within=60)
    woke = zombie.log()[log_at_thaw:]
    if ended:
        # Its writes were refused: it stopped without a commit, and comes back.
        assert zombie.proc is not None and zombie.proc.returncode == 70, woke[-3000:]
        assert FENCED_LOG in woke, woke[-3000:]
        zombie = rig.worker("worker-1")
    await until_served(rig, [zombie, other], within=60)
    settled = loop.time() - thawed
    await buyers.until_decided(150, within=90)
    await buyers.stop()
    assert zombie.alive, zombie.log_tail(3000)
    assert not [a for a in buyers.answers if a.status is None or a.status >= 500]
    out = io.StringIO()
    code = await run_audit(
        rig.settings, rig.worker_urls(), timeout=120, acknowledged=buyers.acknowledged(), out=out
    )
    report = out.getvalue()
    stale = await disagreements(rig.settings, [zombie.web_port, other.web_port])
    told = sorted({m[1] for m in OUT_OF_GROUP.finditer(woke)})
    print(
        f"\nFAULT zombie worker-1: {in_flight} requests in flight; frozen {frozen:.1f}s;"
        f" worker-2 served its products"
        f" {sorted(its_products)} after {taken_over:.1f}s; after SIGCONT the zombie"
        f" {'was fenced, ended (exit 70) and was started again' if ended else 'rejoined'};"
        f" both served every product {settled:.1f}s after SIGCONT; the group told it"
        f" {told or 'nothing'}; longest without a decision {buyers.longest_silence():.1f}s;"
        f" answers while frozen {dict(answers_between(buyers, began, thawed))};"
        f" changelog records older than the live state {len(stale)};"
        f" {report.strip().splitlines()[-1]}; {memory(kafka_three)}"
    )
    # It learned it was out: its producer was fenced, or the group forgot its member id.
    assert ended or FORGOTTEN & set(told), woke[-3000:]
    assert code == CLEAN, report
    assert not stale, stale[:5]
    await assert_no_order_decided_twice(rig.settings, buyers.acknowledged())
    exact_totals(report)


async def until_fenced_or_rejoined(
    rig: Rig, zombie: ManagedProcess, other: ManagedProcess, log_at_thaw: int, within: float
) -> bool:
    """After the thaw: True once the zombie has ended (its producer fenced), False once
    it has rejoined (ready again after a rebalance: it had nothing in flight) and the
    two serve every product. Its web server answers with its old partitions until then."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while zombie.alive:
        rejoined = READY in zombie.log()[log_at_thaw:]
        if rejoined and set(rig.products) <= served(zombie) | served(other):
            return False
        assert loop.time() - began < within, zombie.log_tail(3000)
        await asyncio.sleep(0.2)
    return True
