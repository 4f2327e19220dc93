"""The machine's ceiling: a bare aiohttp + uvloop server that answers 202 to ``POST /orders``.

It reads the body and answers with a body of the same size as the real 202, and
does nothing else, so the load generator pointed at it shows how many requests a
second this machine can carry at all. Run: ``python -m bench.ceiling --port N``.
"""

from __future__ import annotations

import argparse
import uuid

import uvloop
from aiohttp import web

from api.listen_backlog import LISTEN_BACKLOG

# The same JSON as the real answer: a 36-character order id and PENDING.
ANSWER = web.json_response({"order_id": str(uuid.uuid4()), "status": "PENDING"}).body


async def accept_order(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=ANSWER, status=202, content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/orders", accept_order)
    app.router.add_get("/healthz", healthz)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    serve(create_app(), args.port)


def serve(app: web.Application, port: int) -> None:
    """Serve ``app`` on loopback as the bench's own servers do: uvloop, no access log."""
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        access_log=None,
        loop=uvloop.new_event_loop(),
        print=None,
        backlog=LISTEN_BACKLOG,
    )


if __name__ == "__main__":
    main()
