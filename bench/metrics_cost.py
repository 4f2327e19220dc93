"""What the metrics cost on the hot paths: ``python -m bench.metrics_cost`` (~20 s, one core).

1. Per call, with ``timeit`` (best of 5): the API's per-answer update, the produce and
   decision histograms, and the stock agent's per-command counter and delay histogram.
2. In process, an aiohttp app answering a trivial ``POST /orders/{id}`` over a real
   socket, with and without the metrics middleware, rounds alternated so both see the
   same machine; the difference is what the middleware adds to a request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import timeit
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry

from api.errors import error_middleware
from api.metrics import ApiMetrics, metrics_middleware
from streams.metrics import StockMetrics

CALLS = 200_000


def _per_call_us(fn: Any) -> float:
    return min(timeit.repeat(fn, number=CALLS, repeat=5)) / CALLS * 1e6


def per_call() -> dict[str, float]:
    api = ApiMetrics(CollectorRegistry())
    stock = StockMetrics(CollectorRegistry())
    route = SimpleNamespace(resource=SimpleNamespace(canonical="/orders"))
    request: Any = SimpleNamespace(match_info=SimpleNamespace(route=route), method="POST")
    decision = api.decision_seconds.labels("ReserveOrder")
    return {
        "api_answer_us": _per_call_us(lambda: api.answered(request, 201, 0.004)),
        "api_produce_us": _per_call_us(lambda: api.produced(0.002, True)),
        "api_decision_us": _per_call_us(lambda: decision.observe(0.01)),
        "stock_command_counter_us": _per_call_us(lambda: stock.commands.labels("RESERVED").inc()),
        "stock_command_delay_us": _per_call_us(
            lambda: stock.command_delay.observe(time.time() - 1.0)
        ),
    }


async def _order(request: web.Request) -> web.Response:
    return web.json_response({"order_id": request.match_info["order_id"]}, status=201)


async def _serve(measured: bool) -> web.AppRunner:
    middlewares: list[Middleware] = [error_middleware]
    if measured:
        middlewares.insert(0, metrics_middleware(ApiMetrics(CollectorRegistry())))
    app = web.Application(middlewares=middlewares)
    app.router.add_post("/orders/{order_id}", _order)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


async def _rate(runner: web.AppRunner, requests: int) -> float:
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as http:
        began = time.perf_counter()
        for i in range(requests):
            async with http.post(f"http://127.0.0.1:{port}/orders/{i}") as resp:
                await resp.read()
        return requests / (time.perf_counter() - began)


async def served(rounds: int, requests: int) -> dict[str, float]:
    rates: dict[bool, list[float]] = {True: [], False: []}
    runners = {measured: await _serve(measured) for measured in (False, True)}
    try:
        for _ in range(rounds):
            for measured, runner in runners.items():
                rates[measured].append(await _rate(runner, requests))
    finally:
        for runner in runners.values():
            await runner.cleanup()
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    return {
        "req_per_s_without_metrics": off,
        "req_per_s_with_metrics": on,
        "added_us_per_request": (1 / on - 1 / off) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_cost", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    figures = per_call()
    figures.update(asyncio.run(served(args.rounds, args.requests)))
    print(json.dumps({name: round(value, 2) for name, value in figures.items()}, indent=2))


if __name__ == "__main__":
    main()
