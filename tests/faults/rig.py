"""A sale on real processes for the fault suite, and the check every fault test ends with.

``open_sale`` starts the named workers and one API for the given settings,
seeds members and an admin, and lists products: one that sells out
(``SCARCE`` units) and ``plenty`` that never do (ids 1-5 in a fresh database:
their keys fall on all four partitions; ids 1-6 on all of six), so orders keep flowing through the
stock agent, the fast path and the payment saga alike. ``audit_clean`` is the
end of every fault test: no 5xx but the allowed ones, then the audit
(``ops.audit.run_audit``, as ``flashsale-admin audit`` runs it) on everything the
API acknowledged must exit 0. It prints one line of figures for the report.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kit.processes import ManagedProcess
from kit.sale import Member, list_product, seed_members
from ops.audit import run_audit
from streams.settings import Settings
from tests.faults.load import Buyers

SCARCE = 60
PLENTY = 100_000
MEMBERS = 300
SAGA = "saga-1"

Workers = Callable[..., ManagedProcess]
Apis = Callable[..., tuple[ManagedProcess, str]]


@dataclass
class Rig:
    settings: Settings
    start_worker: Workers
    start_api: Apis
    api: ManagedProcess
    base: str
    admin: Member
    members: list[Member]
    products: list[int]
    workers: dict[str, ManagedProcess] = field(default_factory=dict)
    saga: ManagedProcess | None = None

    def worker(self, name: str = "worker-1", wait: bool = True) -> ManagedProcess:
        """Start (or restart, same name and port: a static member) a stock worker."""
        self.workers[name] = start_named(self.start_worker, self.settings, name, wait)
        return self.workers[name]

    def restart_saga(self) -> ManagedProcess:
        """Start the saga worker again under its name."""
        self.saga = start_named(self.start_worker, self.settings, SAGA, role="saga")
        return self.saga

    def worker_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{w.web_port}" for w in self.workers.values() if w.alive]

    def buyers(self, **options: object) -> Buyers:
        buyers = Buyers(self.base, self.members, self.products, **options)  # type: ignore[arg-type]
        buyers.start()
        return buyers


def start_named(
    start: Workers, settings: Settings, name: str, wait: bool = True, role: str = "stock"
) -> ManagedProcess:
    """A worker with a data directory of its own.

    The Faust app puts its store under ``FLASHSALE_DATA_DIR`` (``faust --datadir``
    does not override it), so workers sharing settings would share one RocksDB
    store and one ``committed-prefix`` marker.
    """
    own = Path(settings.data_dir) / f"{name}.store"
    own.mkdir(parents=True, exist_ok=True)
    return start(dataclasses.replace(settings, data_dir=str(own)), name=name, wait=wait, role=role)


async def open_sale(
    settings: Settings,
    start_worker: Workers,
    start_api: Apis,
    workers: Iterable[str] = ("worker-1",),
    plenty: int = 4,
) -> Rig:
    saga = start_named(start_worker, settings, SAGA, role="saga")
    started = {name: start_named(start_worker, settings, name) for name in workers}
    api, base = start_api(settings)
    admin = seed_members(settings, 1, role="admin")[0]
    members = seed_members(settings, MEMBERS)
    products = [(await list_product(base, admin, stock=SCARCE, per_user_limit=2))["product_id"]]
    for _ in range(plenty):
        products.append(
            (await list_product(base, admin, stock=PLENTY, per_user_limit=5))["product_id"]
        )
    return Rig(
        settings, start_worker, start_api, api, base, admin, members, products, started, saga
    )


async def wait_ready(worker: ManagedProcess, runs: int, within: float = 90.0) -> None:
    """Until the worker's log says Ready for the ``runs``-th time: recovery is over."""
    deadline = time.monotonic() + within
    while worker.log().count("[^Worker]: Ready") < runs:
        assert time.monotonic() < deadline and worker.alive, worker.log()[-3000:]
        await asyncio.sleep(0.05)


async def audit_clean(
    rig: Rig,
    buyers: Buyers,
    fault: str,
    in_flight: int,
    allowed: Iterable[int | None] = (),
    within: float = 150.0,
) -> str:
    """No 5xx (but ``allowed``), then a clean audit of everything acknowledged, quiet
    (every acknowledged order decided and stored) within ``within`` seconds."""
    permitted = set(allowed)
    bad = [
        a
        for a in buyers.answers
        if (a.status is None or a.status >= 500) and a.status not in permitted
    ]
    assert not bad, bad[:5]
    out = io.StringIO()
    code = await run_audit(
        rig.settings, rig.worker_urls(), timeout=within, acknowledged=buyers.acknowledged(), out=out
    )
    report = out.getvalue()
    assert code == 0, report
    summary = report.strip().splitlines()[-1]
    print(
        f"\nFAULT {fault}: {in_flight} requests in flight at the fault;"
        f" longest without a decision {buyers.longest_silence():.1f}s;"
        f" {len(buyers.acknowledged())} orders acknowledged; answers {dict(buyers.count())};"
        f" refusals {refusals(buyers)}; {summary}"
    )
    return report


def refusals(buyers: Buyers) -> dict[str, int]:
    """Why requests were refused or not answered: status and message, counted."""
    found: Counter[str] = Counter()
    for answer in buyers.answers:
        if answer.status is None:
            found[f"no answer: {str(answer.body)[:60]}"] += 1
        elif answer.status >= 400 and isinstance(answer.body, dict) and "error" in answer.body:
            found[f"{answer.status} {answer.body['error']['message']}"] += 1
    return dict(found.most_common(5))
