"""Run the HTTP API: ``flashsale-api [--process N]`` (port from ``FLASHSALE_API_PORT``).

Several processes share the API port: each binds it with ``SO_REUSEPORT`` and the
kernel spreads new connections over them. Each is a whole API (its own Kafka
producer, its own listener on ``order-events`` for its own waiting requests); what
they must agree on (rate limits, idempotency claims, token versions) is in Redis
and MySQL. Process N (``--process N``, ``make up`` numbers them) also answers
``/metrics``, ``/healthz`` and ``/readyz`` on a port of its own
(``FLASHSALE_API_METRICS_PORT`` + N - 1): the API port reaches whichever process
the kernel picks, so Prometheus scrapes each process there (docs/metrics.md).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

import uvloop
from aiohttp import web

from api.app import create_app
from api.health import create_status_app
from api.listen_backlog import LISTEN_BACKLOG
from streams.settings import Settings, SettingsError

HOST = "127.0.0.1"
log = logging.getLogger("api")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="flashsale-api", description=__doc__)
    parser.add_argument(
        "--process",
        type=int,
        help="which API process this is (1..N); default FLASHSALE_API_PROCESS",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        overrides = {} if args.process is None else {"api_process": args.process}
        settings = Settings.from_env(**overrides)
        app = create_app(settings)
    except SettingsError as exc:
        raise SystemExit(f"flashsale-api: {exc}") from None
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(settings, app))


async def serve(settings: Settings, app: web.Application) -> None:
    """Serve ``app`` on the shared API port (and this process's own port) until
    SIGTERM or SIGINT, then shut down cleanly (in-flight requests are answered)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    runners = [web.AppRunner(app, access_log=None)]
    # The clients (Kafka, Redis, MySQL) open in setup, before any port is bound: a
    # process joins the shared port only once it can take orders.
    await runners[0].setup()
    try:
        await web.TCPSite(
            runners[0], HOST, settings.api_port, reuse_port=True, backlog=LISTEN_BACKLOG
        ).start()
        own_port = settings.api_own_port()
        if own_port is not None:
            runners.append(web.AppRunner(create_status_app(app), access_log=None))
            await runners[1].setup()
            # Opened last: make up waits for this port, so the API port is bound by then.
            await web.TCPSite(runners[1], HOST, own_port).start()
        log.info(
            "API process %s on http://%s:%s (own port: %s)",
            settings.api_process or "-",
            HOST,
            settings.api_port,
            own_port or "none",
        )
        await stopping.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


if __name__ == "__main__":
    main()
