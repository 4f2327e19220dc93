"""The machine's ceiling: the same load generators against a bare 202 endpoint.

wrk (with the same Lua script and the same header sizes as the real runs) and
the Python client each send the scenario's requests to ``bench.ceiling``; the
other scenarios report their request rate as a share of these. wrk runs again at
each other connection count a storm uses (the flash storm's 256), so that a
storm is compared with the ceiling at its own concurrency.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from bench.client import HttpClient
from bench.context import Context
from bench.progress import Progress
from bench.stats import rate
from bench.storm import storm_figures_without_orders
from bench.wrkrun import WrkRun
from kit.processes import ManagedProcess, free_port, wait_http_ok

REPO = Path(__file__).resolve().parents[2]
# A signed access token is about this long; the header size matters at this rate.
FAKE_TOKEN = "e" * 240
PYTHON_REQUESTS = 20_000
# The storms whose connection counts get a wrk ceiling of their own.
STORMS = ("throughput", "flash")


def start_server(run_dir: Path) -> ManagedProcess:
    port = free_port()
    argv = [sys.executable, "-m", "bench.ceiling", "--port", str(port)]
    env = {"PYTHONPATH": str(REPO)}
    server = ManagedProcess("ceiling", argv, env, run_dir / "ceiling.log", port).start()
    wait_http_ok(f"http://127.0.0.1:{port}/healthz", server, timeout=30)
    return server


async def with_wrk(
    ctx: Context, server: ManagedProcess, requests: int, connections: int
) -> dict[str, Any]:
    run_dir = ctx.run_dir("ceiling")
    targets = run_dir / "targets.txt"
    targets.write_text("".join(f"{FAKE_TOKEN} {i % 8 + 1}\n" for i in range(requests)))
    url = f"http://127.0.0.1:{server.port}/orders"
    wrk = WrkRun(url, targets, run_dir, None, connections)
    meter = ctx.meter()
    meter.add("ceiling-server", server.pid)
    meter.start()
    await wrk.start(max_seconds=600)
    assert wrk.proc is not None
    meter.add("wrk", wrk.proc.pid)
    progress = Progress(f"ceiling/wrk-{connections}", wrk.counts).start()
    summary = await wrk.finish(meter)
    await progress.stop()
    return {**storm_figures_without_orders(summary), "cpu": meter.stop()}


async def with_python(ctx: Context, server: ManagedProcess, requests: int) -> dict[str, Any]:
    shape = ctx.shape("ceiling")
    meter = ctx.meter()
    meter.add("ceiling-server", server.pid)
    meter.start()
    base = f"http://127.0.0.1:{server.port}"
    async with HttpClient(base, shape.connections) as client:
        progress = Progress("ceiling/python", client.counts).start()
        gate = asyncio.Semaphore(shape.connections)

        async def one(i: int) -> None:
            async with gate:
                body = {"product_id": i % 8 + 1, "qty": 1}
                await client.post("order", "/orders", FAKE_TOKEN, body)

        began = time.time()
        await asyncio.gather(*(one(i) for i in range(requests)))
        seconds = time.time() - began
        generator_cpu = meter.sample()["bench"] / max(seconds, 1e-6)
        await progress.stop()
    return {
        "generator": "python",
        "requests": requests,
        "duration_s": round(seconds, 3),
        "req_per_s": rate(requests, seconds),
        "generator_cpu_share": round(generator_cpu, 3),
        "first_answer_ms": client.latency("order"),
        "statuses": client.statuses("order"),
        "cpu": meter.stop(),
    }


async def run(ctx: Context) -> dict[str, Any]:
    shape = ctx.shape("ceiling")
    server = await asyncio.to_thread(start_server, ctx.run_dir("ceiling"))
    storms = {ctx.shape(name).connections for name in STORMS} - {shape.connections}
    try:
        by_wrk = await with_wrk(ctx, server, shape.requests, shape.connections)
        by_python = await with_python(ctx, server, min(shape.requests, PYTHON_REQUESTS))
        more = {n: await with_wrk(ctx, server, shape.requests, n) for n in sorted(storms)}
    finally:
        server.stop()
    result = {
        **ctx.describe("ceiling", "ceiling", shape),
        **by_wrk,
        "python_client": by_python,
        "extra": {
            "python client req/s": by_python["req_per_s"],
            "python client latency ms": by_python["first_answer_ms"],
            "python client CPU shares": by_python["cpu"],
            **{f"wrk, {n} connections: req/s": r["req_per_s"] for n, r in more.items()},
            **{f"wrk, {n} connections: latency ms": r["first_answer_ms"] for n, r in more.items()},
        },
        "checks": [],
    }
    ctx.ceiling = {"wrk": by_wrk["req_per_s"], "python": by_python["req_per_s"]}
    ctx.ceiling.update({f"wrk@{n}": r["req_per_s"] for n, r in more.items()})
    return result
